package dev.ballast.qemu.stream;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * Callbacks of {@link QemuStreamReader}, one per validated record, in stream order. {@code at} is always the byte
 * offset where the record starts. A callback is made only once its whole record has been read and checked, so a
 * visitor never sees anything past the last valid record. Defaults do nothing.
 *
 * <p>The shape is meant to map one to one onto journal events later: a page is (block, offset in block, zero or
 * data); sections are PART = a time slice while the guest runs, END = stop-and-copy.
 */
public interface QemuStreamVisitor {
    /** Header and configuration read: format version (3) and the machine type, or null without configuration. */
    default void onHeader(long at, int version, String machineType) {}

    /** A section header read (START/PART/END). {@code name} is the idstr remembered from START ({@code ram}). */
    default void onSectionStart(long at, SectionKind kind, int sectionId, String name) {}

    /** RAM's setup (the START payload) read: total bytes and the block list, in QEMU's order. */
    default void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {}

    /** A page record named a block (no CONTINUE flag): from here on, CONTINUE records mean this block. */
    default void onBlock(long at, RamBlock block) {}

    /** A ZERO record: the page at {@code offset} bytes into {@code block} is all zero. */
    default void onZero(long at, RamBlock block, long offset) {}

    /**
     * A PAGE record: the page's 4096 bytes are {@code data[dataOff .. dataOff+4096)}, in the reader's buffer,
     * valid only during this call.
     */
    default void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {}

    /**
     * A PAGE record, as the reader calls it: the page's 4096 bytes are {@code data}'s bytes {@code dataOff ..
     * dataOff+4096} (absolute indexes; the buffer's position and limit mean nothing to the visitor and must not be
     * relied on), in the reader's own buffer, valid only during this call. A relay forwards the buffer as it is
     * after this returns, so a change made here is forwarded.
     *
     * <p>The default copies the page into a per-thread array, calls {@link #onPage(long, RamBlock, long, byte[],
     * int)} with it and copies it back (so a change made there is forwarded too). A visitor that does not read the
     * page's bytes overrides this one to skip both copies.
     */
    default void onPage(long at, RamBlock block, long offset, ByteBuffer data, int dataOff) {
        byte[] page = PageScratch.PAGE.get();
        data.get(dataOff, page, 0, QemuStreamReader.PAGE_SIZE);
        onPage(at, block, offset, page, 0);
        data.put(dataOff, page, 0, QemuStreamReader.PAGE_SIZE);
    }

    /** The section's EOS and footer read; {@code end} is the offset just past its footer. */
    default void onSectionEnd(long at, long end, SectionKind kind, int sectionId) {}

    /** RAM's END section is complete: {@code end} is the offset of the first byte of device state. */
    default void onRamEnd(long end) {}
}
