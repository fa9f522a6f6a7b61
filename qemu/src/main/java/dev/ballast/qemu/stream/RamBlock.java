package dev.ballast.qemu.stream;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One RAM block of the setup list: its position in the list, its QEMU idstr (e.g. {@code pc.ram}) and its used
 * length in bytes. Page records name a page as (block, byte offset inside the block), never a guest-physical
 * address. Created once per stream, when the setup is read; page callbacks pass the same instances.
 */
public final class RamBlock {
    private final int index;
    private final String name;
    private final byte[] nameBytes;
    private final long usedLength;

    RamBlock(int index, byte[] nameBytes, long usedLength) {
        this.index = index;
        this.nameBytes = nameBytes.clone();
        this.name = new String(nameBytes, StandardCharsets.ISO_8859_1);
        this.usedLength = usedLength;
    }

    /** Position in the setup list, from 0. */
    public int index() {
        return index;
    }

    /** QEMU's idstr, bytes taken as ISO-8859-1. */
    public String name() {
        return name;
    }

    /** Bytes of the block that QEMU migrates. */
    public long usedLength() {
        return usedLength;
    }

    public long pages() {
        return usedLength / QemuStreamReader.PAGE_SIZE;
    }

    boolean nameEquals(byte[] buf, int off, int len) {
        return Arrays.equals(nameBytes, 0, nameBytes.length, buf, off, off + len);
    }

    boolean nameEquals(java.nio.ByteBuffer buf, int off, int len) {
        if (len != nameBytes.length) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if (buf.get(off + i) != nameBytes[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return name + " (" + usedLength + " bytes)";
    }
}
