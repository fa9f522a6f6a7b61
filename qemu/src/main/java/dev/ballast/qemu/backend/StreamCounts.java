package dev.ballast.qemu.backend;

import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.qemu.stream.SectionKind;
import java.util.List;

/**
 * Ballast's own count of what a QEMU stream carried, from the reader's validated records: ZERO and PAGE records,
 * pages sent more than once, PART sections, and the bytes of RAM's page records as QEMU's {@code ram.transferred}
 * counts them (each record's 8-byte header, the block name when it is not CONTINUE, then 1 byte for a zero page or
 * 4096 for a page; and the 8-byte EOS of each PART section: QEMU 7.2's {@code ram_save_iterate} adds those 8 bytes,
 * its setup and {@code ram_save_complete} do not). One bit per page of every block; nothing allocated per record.
 */
final class StreamCounts implements QemuStreamVisitor {
    long normal;
    long zero;
    long resent;
    long partSections;
    long pageRecordBytes;
    private long[][] sent = new long[0][];

    @Override
    public void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {
        sent = new long[blocks.size()][];
        for (RamBlock b : blocks) {
            sent[b.index()] = new long[(int) ((b.pages() + 63) >>> 6)];
        }
    }

    @Override
    public void onSectionStart(long at, SectionKind kind, int sectionId, String name) {
        if (kind == SectionKind.PART) {
            partSections++;
        }
    }

    @Override
    public void onBlock(long at, RamBlock block) {
        pageRecordBytes += 1 + block.name().length();
    }

    @Override
    public void onZero(long at, RamBlock block, long offset) {
        zero++;
        pageRecordBytes += 8 + 1;
        mark(block, offset);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
        normal++;
        pageRecordBytes += 8 + 4096;
        mark(block, offset);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, java.nio.ByteBuffer data, int dataOff) {
        onPage(at, block, offset, (byte[]) null, dataOff); // counts only: no copy of the page
    }

    private void mark(RamBlock block, long offset) {
        long page = offset >>> 12;
        long[] bits = sent[block.index()];
        int w = (int) (page >>> 6);
        long m = 1L << page;
        if ((bits[w] & m) != 0) {
            resent++;
        } else {
            bits[w] |= m;
        }
    }

    /** RAM bytes as QEMU counts them in {@code ram.transferred}. */
    long ramBytes() {
        return pageRecordBytes + 8 * partSections;
    }
}
