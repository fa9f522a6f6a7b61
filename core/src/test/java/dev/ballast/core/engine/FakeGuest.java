package dev.ballast.core.engine;

import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** A guest for engine tests: a version per page, a dirty log, scripted requests and a record of commands. */
class FakeGuest implements SourceGuest {
    final RamLayout layout;
    final int[] content;
    final PageBitmap dirty;
    final PageBitmap restored;
    final PageBitmap balloonNow;
    GuestFeatures features = new GuestFeatures(true, true, true, 0);
    final List<Long> hintCommands = new ArrayList<>();
    final List<Long> bitmapRequests = new ArrayList<>();
    final ArrayDeque<long[]> requests = new ArrayDeque<>();
    /** Runs at every sync, before the log is read: a test's guest activity. */
    Consumer<FakeGuest> beforeEachSync = g -> {};
    /** Runs after each hint command: a test's guest answer. */
    Consumer<Long> onHintCommand = id -> {};

    boolean logging;
    boolean running = true;
    int syncs;
    int version;

    FakeGuest(RamLayout layout) {
        this.layout = layout;
        this.content = new int[(int) layout.totalPages()];
        this.dirty = new PageBitmap(layout.totalPages());
        this.restored = new PageBitmap(layout.totalPages());
        this.balloonNow = new PageBitmap(layout.totalPages());
    }

    void write(long index) {
        content[(int) index] = ++version;
        if (logging) dirty.set(index);
    }

    void request(EventType t, long a, long b, long c) {
        requests.add(new long[] {t.ordinal(), a, b, c});
    }

    @Override
    public RamLayout layout() {
        return layout;
    }

    @Override
    public GuestFeatures features() {
        return features;
    }

    @Override
    public void startDirtyLog() {
        logging = true;
    }

    @Override
    public void syncDirtyLog(PageRanges out) {
        syncs++;
        beforeEachSync.accept(this);
        for (RamBlock b : layout.blocks()) {
            dirty.forEachRun(b.firstIndex(), b.endIndex(), (i, e) -> out.range(b.index(), i - b.firstIndex(), e - i));
        }
        dirty.clearAll();
    }

    @Override
    public void clearDirty(int block, long offset, long count) {
        long g = layout.block(block).firstIndex() + offset;
        dirty.clearRange(g, g + count);
    }

    @Override
    public void restoreDirty(int block, long offset, long count) {
        long g = layout.block(block).firstIndex() + offset;
        dirty.setRange(g, g + count);
        restored.setRange(g, g + count);
    }

    @Override
    public void stopDirtyLog() {
        logging = false;
    }

    @Override
    public long classify(int block, long offset, long max) {
        int i = (int) (layout.block(block).firstIndex() + offset);
        int end = (int) (i + max);
        int s = i;
        if (content[i] == 0) {
            while (i < end && content[i] == 0) i++;
            return i - s;
        }
        while (i < end && content[i] != 0) i++;
        return -(i - s);
    }

    @Override
    public void pause() {
        running = false;
    }

    @Override
    public void resume() {
        running = true;
    }

    @Override
    public boolean running() {
        return running;
    }

    @Override
    public void hintCommand(long commandId) {
        hintCommands.add(commandId);
        onHintCommand.accept(commandId);
    }

    @Override
    public void requestFreeBitmap(long commandId) {
        bitmapRequests.add(commandId);
    }

    @Override
    public void balloonState(GuestRequests ballooned) {
        balloonNow.forEachRun((s, e) ->
                ballooned.request(EventType.BALLOON_INFLATE, EventType.Balloon.AT_SETUP, layout.pfnOfIndex(s), e - s));
    }

    @Override
    public int drainRequests(GuestRequests into, int max) {
        int n = 0;
        while (!requests.isEmpty() && n < max) {
            long[] r = requests.poll();
            into.request(EventType.values()[(int) r[0]], r[1], r[2], r[3]);
            n++;
        }
        return n;
    }
}
