package dev.ballast.properties;

import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.hash.Xxh64;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.PageSink;
import dev.ballast.core.wire.Verdict;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A destination as a host keeps one: a hash of every page by block, and the balloon bitmap as one
 * flat bitmap over the host's own page indexes (blocks concatenated in its order), as QEMU keeps
 * its bitmaps. Every call is checked against the blocks; one that runs past its block is logged
 * as an out-of-bounds write and applied as an unchecked flat bitmap would take it: into the
 * neighbouring block, or dropped past the end of memory. A reader must never make one.
 */
final class GuardedSink implements PageSink {
    static final long NEVER = 0x5EED_0000_0000_0001L;

    final RamLayout layout;
    final Map<String, long[]> pages = new HashMap<>();
    final PageBitmap balloon;
    final List<String> outOfBounds = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    final List<Integer> iterations = new ArrayList<>();
    Hello hello;
    boolean completed;

    GuardedSink(RamLayout layout) {
        this.layout = layout;
        for (RamBlock b : layout.blocks()) {
            long[] h = new long[(int) b.pages()];
            Arrays.fill(h, NEVER);
            pages.put(b.name(), h);
        }
        this.balloon = new PageBitmap(layout.totalPages());
    }

    static long fillHash(int fill) {
        byte[] p = new byte[4096];
        Arrays.fill(p, (byte) fill);
        return Xxh64.hash(ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN), 0, 4096, 7);
    }

    private boolean inside(String call, int block, long offset, long count) {
        if (block < 0 || block >= layout.blockCount()) {
            outOfBounds.add(
                    call + ": block " + block + " is not one of the " + layout.blockCount() + " blocks of " + layout);
            return false;
        }
        RamBlock b = layout.block(block);
        if (offset < 0 || count < 1 || count > b.pages() - offset) {
            outOfBounds.add(call + ": pages [" + offset + ", +" + count + ") run outside block " + b.name() + " ("
                    + b.pages() + " pages)");
            return false;
        }
        return true;
    }

    @Override
    public void open(Hello h, PageRanges missing) {
        hello = h;
        log.add("open " + h.layout());
        for (RamBlock b : layout.blocks()) missing.range(b.index(), 0, b.pages());
    }

    @Override
    public void writePages(int block, long offset, int count, ByteBuffer data) {
        log.add("pages " + block + "+" + offset + "x" + count);
        if (!inside("writePages", block, offset, count)) return;
        long[] h = pages.get(layout.block(block).name());
        for (int i = 0; i < count; i++) h[(int) offset + i] = Xxh64.hash(data, data.position() + i * 4096, 4096, 7);
    }

    @Override
    public void fill(int block, long offset, long count, int fillByte) {
        log.add("fill " + block + "+" + offset + "x" + count + "=" + fillByte);
        if (!inside("fill", block, offset, count)) return;
        Arrays.fill(pages.get(layout.block(block).name()), (int) offset, (int) (offset + count), fillHash(fillByte));
    }

    @Override
    public void balloon(int block, long offset, long count, boolean ballooned) {
        log.add("balloon " + block + "+" + offset + "x" + count + (ballooned ? " in" : " out"));
        long first =
                block >= 0 && block < layout.blockCount() ? layout.block(block).firstIndex() : 0;
        if (!inside("balloon", block, offset, count)) {
            // what an unchecked flat bitmap does with it
            long from = Math.max(0, Math.min(layout.totalPages(), first + offset));
            long to = Math.max(
                    from, Math.min(layout.totalPages(), first + offset + Math.min(count, layout.totalPages())));
            if (ballooned) balloon.setRange(from, to);
            else balloon.clearRange(from, to);
            return;
        }
        balloonAtIndex(first + offset, count, ballooned);
    }

    /** Sets or clears bits of the flat bitmap: what a balloon call does once it is inside its block. */
    void balloonAtIndex(long index, long count, boolean ballooned) {
        if (ballooned) balloon.setRange(index, index + count);
        else balloon.clearRange(index, index + count);
    }

    @Override
    public void iterationEnd(int iteration) {
        log.add("iteration " + iteration);
        iterations.add(iteration);
    }

    @Override
    public Verdict complete() {
        log.add("complete");
        completed = true;
        return Verdict.of(0, 0, true, "ok");
    }

    /** The balloon bits of a block, by name. */
    boolean[] balloonOf(String name) {
        RamBlock b = layout.blockNamed(name);
        boolean[] out = new boolean[(int) b.pages()];
        for (int i = 0; i < out.length; i++) out[i] = balloon.get(b.firstIndex() + i);
        return out;
    }
}
