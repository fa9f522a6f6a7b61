package dev.ballast.kvm.guestabi;

import static dev.ballast.kvm.guestabi.GuestAbi.ABI_VERSION;
import static dev.ballast.kvm.guestabi.GuestAbi.IMAGE_MAGIC;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_GPA;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_IMAGE_MAX;
import static dev.ballast.kvm.guestabi.GuestAbi.SYS_IMAGE_OFF;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The guest program: the flat binary that the build makes from {@code src/main/c/guest}
 * ({@code /guest/ballast-guest.bin} on the class path), checked against its header.
 *
 * @param bytes    the bytes to load at {@code loadGpa}
 * @param loadGpa  where the linker put it: {@code SYS_GPA + SYS_IMAGE_OFF}
 * @param entryGpa its first instruction
 * @param endGpa   the end of its bss
 */
public record GuestImage(byte[] bytes, long loadGpa, long entryGpa, long endGpa) {
    public static final String RESOURCE = "/guest/ballast-guest.bin";

    /** Loads the image the build made. */
    public static GuestImage load() {
        try (InputStream in = GuestImage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("guest program " + RESOURCE + " is not on the class path: the"
                        + " kvm-backend build compiles it with gcc (src/main/c/build-guest.sh)");
            }
            return parse(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Checks an image's header. */
    public static GuestImage parse(byte[] bytes) {
        if (bytes.length < 0x30) {
            throw new IllegalArgumentException("guest image too short: " + bytes.length + " bytes");
        }
        ByteBuffer h = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (h.getLong(GuestAbi.IMG_MAGIC_OFF) != IMAGE_MAGIC) {
            throw new IllegalArgumentException("not a Ballast guest image (bad magic)");
        }
        int abi = h.getInt(GuestAbi.IMG_ABI_OFF);
        if (abi != ABI_VERSION) {
            throw new IllegalArgumentException("guest image speaks ABI " + abi + ", the host " + ABI_VERSION);
        }
        long load = h.getLong(GuestAbi.IMG_LOAD_GPA_OFF);
        long entry = h.getLong(GuestAbi.IMG_ENTRY_GPA_OFF);
        long end = h.getLong(GuestAbi.IMG_END_GPA_OFF);
        long fileEnd = h.getLong(GuestAbi.IMG_FILE_END_GPA_OFF);
        long expected = SYS_GPA + SYS_IMAGE_OFF;
        if (load != expected) {
            throw new IllegalArgumentException(
                    "guest image linked at 0x" + Long.toHexString(load) + ", expected 0x" + Long.toHexString(expected));
        }
        if (end < fileEnd
                || end - load > SYS_IMAGE_MAX
                || fileEnd - load != bytes.length
                || entry < load
                || entry >= fileEnd) {
            throw new IllegalArgumentException("guest image header inconsistent: " + bytes.length + " bytes, entry 0x"
                    + Long.toHexString(entry) + ", file end 0x" + Long.toHexString(fileEnd) + ", end 0x"
                    + Long.toHexString(end));
        }
        return new GuestImage(bytes.clone(), load, entry, end);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }
}
