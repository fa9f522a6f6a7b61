package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireFormat.PAGE_SIZE;
import static dev.ballast.core.wire.WireTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.wire.WireTestSupport.Loopback;
import dev.ballast.core.wire.WireTestSupport.MemorySink;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The real engine migrates through a writer and a reader joined by pipes, while its guest keeps
 * writing: the destination, whose blocks are listed in another order, ends up holding every page
 * as the guest last wrote it (zero pages as fills), and the balloon bitmap the guest reported.
 */
class PageStreamEngineTest {

    /** A guest with a version per page (0: a zero page), random writes at every sync while it runs. */
    static final class TinyGuest implements SourceGuest, PageSource {
        final RamLayout layout;
        final int[] version;
        final PageBitmap dirty;
        final ArrayDeque<long[]> requests = new ArrayDeque<>();
        final SplittableRandom random;
        final int writesPerSync;
        private final byte[] scratch = new byte[PAGE_SIZE];
        boolean logging;
        boolean running = true;
        int stamp;

        TinyGuest(RamLayout layout, long seed, int writesPerSync) {
            this.layout = layout;
            this.version = new int[(int) layout.totalPages()];
            this.dirty = new PageBitmap(layout.totalPages());
            this.random = new SplittableRandom(seed);
            this.writesPerSync = writesPerSync;
            for (int i = 0; i < version.length; i++) if (random.nextInt(3) > 0) version[i] = ++stamp;
        }

        void write(int index) {
            version[index] = random.nextInt(5) == 0 ? 0 : ++stamp;
            if (logging) dirty.set(index);
        }

        long hash(RamBlock b, long offset) {
            int v = version[(int) (b.firstIndex() + offset)];
            if (v == 0) return fillHash(0);
            byte[] p = new byte[PAGE_SIZE];
            pattern(b.name(), offset, v, p);
            return hashOf(p);
        }

        @Override
        public RamLayout layout() {
            return layout;
        }

        @Override
        public GuestFeatures features() {
            return new GuestFeatures(true, false, false, 0);
        }

        @Override
        public void startDirtyLog() {
            logging = true;
        }

        @Override
        public void syncDirtyLog(PageRanges out) {
            if (running) for (int i = 0; i < writesPerSync; i++) write(random.nextInt(version.length));
            for (RamBlock b : layout.blocks()) {
                dirty.forEachRun(
                        b.firstIndex(), b.endIndex(), (i, e) -> out.range(b.index(), i - b.firstIndex(), e - i));
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
            boolean zero = version[i] == 0;
            while (i < end && (version[i] == 0) == zero) i++;
            return zero ? i - s : -(i - s);
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
        public void hintCommand(long commandId) {}

        @Override
        public void requestFreeBitmap(long commandId) {}

        @Override
        public void balloonState(GuestRequests ballooned) {}

        @Override
        public int drainRequests(GuestRequests into, int max) {
            int n = 0;
            while (!requests.isEmpty() && n < max) {
                long[] r = requests.poll();
                into.request(
                        r[0] == 1 ? EventType.BALLOON_INFLATE : EventType.BALLOON_DEFLATE,
                        EventType.Balloon.PFNS,
                        r[1],
                        r[2]);
                n++;
            }
            return n;
        }

        @Override
        public void copyPages(int block, long offset, int count, MemorySegment dst, long dstOffset) {
            RamBlock b = layout.block(block);
            for (int i = 0; i < count; i++) {
                int v = version[(int) (b.firstIndex() + offset + i)];
                if (v == 0) java.util.Arrays.fill(scratch, (byte) 0);
                else pattern(b.name(), offset + i, v, scratch);
                MemorySegment.copy(scratch, 0, dst, ValueLayout.JAVA_BYTE, dstOffset + (long) i * PAGE_SIZE, PAGE_SIZE);
            }
        }
    }

    @Property(tries = 25)
    void shouldMigrateEveryPageByNameWhileTheGuestWrites(
            @ForAll long seed, @ForAll @IntRange(max = 40) int writesPerSync) throws Exception {
        // ram-high starts above the 3..4 GiB hole; the destination lists it first.
        RamLayout src = layout("ram-low", 0, 700, "ram-high", 0x100000, 300);
        RamLayout dst = layout("ram-high", 0x100000, 300, "ram-low", 0, 700);
        TinyGuest guest = new TinyGuest(src, seed, writesPerSync);
        guest.requests.add(new long[] {1, 10, 20}); // ram-low [10, 30) into the balloon
        guest.requests.add(new long[] {1, 0x100000 + 290, 10}); // ram-high [290, 300)
        guest.requests.add(new long[] {0, 15, 5}); // ram-low [15, 20) out again
        MemorySink sink = new MemorySink(dst);
        try (Loopback link = new Loopback(guest, new PageStreamWriter.Options(seed, 64, 16, 0), sink)) {
            EngineConfig cfg = EngineConfig.defaults().withLimits(0, 1_000_000L, 6, 0);
            long[] now = {0};
            MigrationEngine engine = new MigrationEngine(
                    cfg, guest, link.writer, Policies.create("legacy"), EventSink.NONE, () -> now[0] += 1_000);
            for (int step = 0; step < 100_000 && !engine.phase().isTerminal(); step++) engine.doWork();
            assertThat(engine.phase()).as("%s", engine.stats()).isEqualTo(Phase.COMPLETED);
            Verdict v = link.destination();
            assertThat(link.writer.verdict()).isEqualTo(v);
            assertThat(sink.iterations).hasSize(engine.iteration());
        }
        assertThat(guest.running).isFalse();
        for (RamBlock b : src.blocks()) {
            long[] got = sink.pages.get(b.name());
            for (long p = 0; p < b.pages(); p++) {
                assertThat(got[(int) p])
                        .as("%s+%d (version %d)", b.name(), p, guest.version[(int) (b.firstIndex() + p)])
                        .isEqualTo(guest.hash(b, p));
            }
        }
        PageBitmap low = sink.balloon.get("ram-low");
        assertThat(low.count()).isEqualTo(15);
        assertThat(low.get(10) && low.get(14) && !low.get(15) && !low.get(19) && low.get(20) && low.get(29))
                .isTrue();
        assertThat(sink.balloon.get("ram-high").count()).isEqualTo(10);
    }
}
