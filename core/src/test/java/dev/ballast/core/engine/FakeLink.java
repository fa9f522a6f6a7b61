package dev.ballast.core.engine;

import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/** A destination for engine tests: copies contents from a FakeGuest and can fail after a number of calls. */
class FakeLink implements PageLink {
    final FakeGuest src;
    final int[] content;
    final PageBitmap balloon;
    final PageBitmap received;
    long failAfterCalls = -1;
    long calls;
    boolean completed;
    int iterations;

    FakeLink(FakeGuest src) {
        this.src = src;
        this.content = new int[src.content.length];
        this.balloon = new PageBitmap(src.content.length);
        this.received = new PageBitmap(src.content.length);
    }

    private void call() throws LinkException {
        if (failAfterCalls >= 0 && calls++ >= failAfterCalls)
            throw new LinkException(FailureCause.INJECTED, "injected");
    }

    private int g(int block, long offset) {
        return (int) (src.layout.block(block).firstIndex() + offset);
    }

    @Override
    public void open(RamLayout layout, int poisonByte, PageRanges missing) throws LinkException {
        call();
        for (var b : layout.blocks()) missing.range(b.index(), 0, b.pages());
    }

    @Override
    public void sendPages(int block, long offset, long count) throws LinkException {
        call();
        int i = g(block, offset);
        System.arraycopy(src.content, i, content, i, (int) count);
        received.setRange(i, i + count);
    }

    @Override
    public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
        call();
        int i = g(block, offset);
        java.util.Arrays.fill(content, i, i + (int) count, fillByte == 0 ? 0 : -fillByte);
        received.setRange(i, i + count);
    }

    @Override
    public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
        call();
        int i = g(block, offset);
        if (ballooned) balloon.setRange(i, i + count);
        else balloon.clearRange(i, i + count);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        call();
        iterations++;
    }

    @Override
    public void complete() throws LinkException {
        call();
        completed = true;
    }
}
