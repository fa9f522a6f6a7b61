package dev.ballast.qemu.guest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes a cpio archive in the "newc" format that Linux unpacks as an initramfs
 * ({@code Documentation/driver-api/early-userspace/buffer-format.rst}): per entry a 110-byte ASCII header of
 * {@code 070701} and thirteen 8-digit hex fields, the NUL-terminated name, padding to 4 bytes, the data, padding
 * to 4 bytes; a {@code TRAILER!!!} entry ends it. Owner root, one link, mtime 0, so the bytes depend only on
 * the content.
 */
final class Cpio implements AutoCloseable {
    private static final int S_IFDIR = 0040000, S_IFREG = 0100000, S_IFCHR = 0020000;

    private final OutputStream out;
    private long written;
    private int inode = 1;

    Cpio(OutputStream out) {
        this.out = out;
    }

    void directory(String name) throws IOException {
        entry(name, S_IFDIR | 0755, new byte[0], 0, 0);
    }

    void file(String name, int permissions, byte[] data) throws IOException {
        entry(name, S_IFREG | permissions, data, 0, 0);
    }

    void charDevice(String name, int permissions, int major, int minor) throws IOException {
        entry(name, S_IFCHR | permissions, new byte[0], major, minor);
    }

    private void entry(String name, int mode, byte[] data, int major, int minor) throws IOException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        StringBuilder h = new StringBuilder("070701");
        int[] fields = {inode++, mode, 0, 0, 1, 0, data.length, 0, 0, major, minor, n.length, 0};
        for (int f : fields) {
            h.append(String.format("%08x", f));
        }
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(n);
        pad();
        write(data);
        pad();
    }

    private void write(byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }

    @Override
    public void close() throws IOException {
        entry("TRAILER!!!", 0, new byte[0], 0, 0);
        out.flush();
    }
}
