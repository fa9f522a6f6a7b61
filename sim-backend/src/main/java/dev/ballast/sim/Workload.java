package dev.ballast.sim;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Units;
import dev.ballast.core.run.WorkloadSpec;
import java.util.SplittableRandom;

/**
 * What the simulated guest does: a prologue before the migration ({@link #boot()}) and activity
 * on the virtual clock while it runs ({@link #tick(long)}). Parameters come from the workload
 * spec ({@code random-write,rate=200MiB/s}); every default is listed in {@link #create}.
 */
abstract class Workload {
    final SimGuest guest;
    final SplittableRandom rnd;
    final WorkloadSpec spec;
    final long totalPages;

    // The guest's live allocations, oldest first: a ring of (first page, order).
    private long[] objIndex = new long[1024];
    private int[] objOrder = new int[1024];
    private int objHead;
    private int objCount;
    private long objPages;
    private double writeCredit;

    Workload(SimGuest guest, SplittableRandom rnd, WorkloadSpec spec) {
        this.guest = guest;
        this.rnd = rnd;
        this.spec = spec;
        this.totalPages = guest.totalPages;
    }

    /**
     * The operating system's memory ({@code os}): allocated and written at boot before the workload, in blocks as the
     * workload's, and never freed, hinted nor written again; its {@code os-top} part at the top of RAM, as Linux's
     * memblock allocates top-down, the rest from the bottom. Of the bottom part, the first {@code os-freed} pages go
     * back to the allocator with their data (what the boot left in free memory; poisoned, under poisoning, as any page
     * the guest frees), and the workload's allocations start from them; {@code os-reserved} pages are taken and never written. Returns the pages written.
     */
    long bootOs() {
        long pages = spec.osBytes() / RamLayout.PAGE_SIZE;
        long top = spec.osTopBytes() / RamLayout.PAGE_SIZE;
        if (top > 0) {
            guest.alloc.take(totalPages - top, top);
            guest.writeRange(totalPages - top, top);
        }
        long[] bottom = allocateBlocks(pages - top);
        long freed = spec.osFreedBytes() / RamLayout.PAGE_SIZE;
        long done = top;
        for (int k = 0; k < bottom.length; k++) {
            long i = bottom[k] >>> 8, n = 1L << (bottom[k] & 0xFF);
            guest.writeRange(i, n);
            done += n;
            long back = Math.min(n, freed);
            if (back > 0) guest.freePages(i, back); // as the boot frees it: poisoned under poisoning
            freed -= back;
        }
        allocateBlocks(spec.osReservedBytes() / RamLayout.PAGE_SIZE);
        // what the boot left free is what the workload's allocations get first
        if (spec.osFreedBytes() > 0) guest.alloc.rewind();
        return done;
    }

    /** Takes {@code pages} from the allocator, largest blocks first (order 9 down), unwritten: (index << 8 | order) each. */
    private long[] allocateBlocks(long pages) {
        long[] blocks = new long[16];
        int n = 0;
        long done = 0;
        for (int order = 9; done < pages && order >= 0; ) {
            if ((1L << order) > pages - done) {
                order--;
                continue;
            }
            long i = guest.alloc.alloc(order);
            if (i < 0) {
                order--;
                continue;
            }
            if (n == blocks.length) blocks = java.util.Arrays.copyOf(blocks, n * 2);
            blocks[n++] = i << 8 | order;
            done += 1L << order;
        }
        return java.util.Arrays.copyOf(blocks, n);
    }

    /** Before the migration: the guest boots and does what the workload did before it. */
    abstract void boot();

    /** The guest runs for {@code dtNs} more of virtual time. */
    abstract void tick(long dtNs);

    // ------------------------------------------------------------------ parameters

    /** Pages from a parameter that is a percentage of {@code base} pages ("25%") or a size ("512M"). */
    long pagesParam(String key, String dflt, long base) {
        String v = spec.param(key, dflt);
        try {
            if (v.endsWith("%")) {
                double f = Double.parseDouble(v.substring(0, v.length() - 1)) / 100;
                if (!(f >= 0 && f <= 1)) throw new IllegalArgumentException();
                return (long) (base * f);
            }
            return Units.parseSize(v) / RamLayout.PAGE_SIZE;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("workload " + spec.name() + ": " + key + "=" + v
                    + ": expected a percentage (25%) or a size (512M)");
        }
    }

    /** Pages per nanosecond from a rate parameter ("100MiB/s", "100M"). */
    double rateParam(String key, String dflt) {
        String v = spec.param(key, dflt);
        String s = v.endsWith("/s") ? v.substring(0, v.length() - 2) : v;
        try {
            return Units.parseSize(s) / (double) RamLayout.PAGE_SIZE / 1e9;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec.name() + ": " + key + "=" + v + ": expected a rate such as 100MiB/s");
        }
    }

    long durationParam(String key, String dflt) {
        String v = spec.param(key, dflt);
        try {
            return Units.parseDurationNs(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec.name() + ": " + key + "=" + v + ": expected a duration such as 20ms");
        }
    }

    double percentArg(double dflt) {
        if (spec.arg() == null) return dflt;
        try {
            double p = Double.parseDouble(
                    spec.arg().endsWith("%")
                            ? spec.arg().substring(0, spec.arg().length() - 1)
                            : spec.arg());
            if (!(p > 0 && p <= 100)) throw new IllegalArgumentException();
            return p;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec + ": '" + spec.arg() + "' must be a percentage in (0, 100]");
        }
    }

    // ------------------------------------------------------------------ guest actions

    /** Allocates about {@code pages} in blocks of 2^minOrder..2^maxOrder pages, writes them and keeps them. */
    long allocWrite(long pages, int minOrder, int maxOrder) {
        long done = 0;
        while (done < pages) {
            int order = minOrder + rnd.nextInt(maxOrder - minOrder + 1);
            while (order > 0 && (1L << order) > pages - done) order--;
            long i = guest.allocPages(order);
            while (i < 0 && order > 0) i = guest.allocPages(--order);
            if (i < 0) break;
            guest.writeRange(i, 1L << order);
            keep(i, order);
            done += 1L << order;
        }
        return done;
    }

    void keep(long index, int order) {
        if (objCount == objIndex.length) {
            long[] ni = new long[objIndex.length * 2];
            int[] no = new int[objOrder.length * 2];
            for (int k = 0; k < objCount; k++) {
                ni[k] = objIndex[(objHead + k) % objIndex.length];
                no[k] = objOrder[(objHead + k) % objOrder.length];
            }
            objIndex = ni;
            objOrder = no;
            objHead = 0;
        }
        int slot = (objHead + objCount) % objIndex.length;
        objIndex[slot] = index;
        objOrder[slot] = order;
        objCount++;
        objPages += 1L << order;
    }

    /** Frees the oldest allocations until at most {@code keepPages} remain. */
    void freeOldest(long keepPages) {
        while (objCount > 0 && objPages > keepPages) {
            long i = objIndex[objHead];
            int o = objOrder[objHead];
            objHead = (objHead + 1) % objIndex.length;
            objCount--;
            objPages -= 1L << o;
            guest.freePages(i, 1L << o);
        }
    }

    long keptPages() {
        return objPages;
    }

    /** Writes {@code pagesPerNs * dtNs} random pages of the guest's live allocations. */
    void randomWrites(double pagesPerNs, long dtNs) {
        writeCredit += pagesPerNs * dtNs;
        while (writeCredit >= 1 && objCount > 0) {
            writeCredit--;
            int k = (objHead + rnd.nextInt(objCount)) % objIndex.length;
            long page = objIndex[k] + rnd.nextLong(1L << objOrder[k]);
            guest.write(page);
        }
        if (objCount == 0) writeCredit = 0;
    }

    // ------------------------------------------------------------------ the workloads

    static Workload create(WorkloadSpec spec, SimGuest guest, SplittableRandom rnd) {
        Workload w = of(spec, guest, rnd);
        return spec.pressurePercent() > 0 ? new Pressure(w, spec.pressurePercent()) : w;
    }

    private static Workload of(WorkloadSpec spec, SimGuest guest, SplittableRandom rnd) {
        return switch (spec.name()) {
            case "idle" -> new Idle(guest, rnd, spec);
            case "memhog" -> new MemHog(guest, rnd, spec);
            case "compile" -> new Compile(guest, rnd, spec);
            case "random-write" -> new RandomWrite(guest, rnd, spec);
            case "balloon" -> new Ballooned(guest, rnd, spec);
            case "deflate-race" -> new DeflateRace(guest, rnd, spec);
            default -> throw new IllegalArgumentException("workload=" + spec.name() + ": unknown");
        };
    }

    /** A freshly booted system: {@code used} of RAM written (4%), a trickle of writes ({@code rate}, 1MiB/s). */
    static class Idle extends Workload {
        final double rate;

        Idle(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            super(g, r, s);
            rate = rateParam("rate", "1MiB/s");
        }

        @Override
        void boot() {
            allocWrite(pagesParam("used", "4%", totalPages), 0, 9);
        }

        @Override
        void tick(long dtNs) {
            randomWrites(rate, dtNs);
        }
    }

    /**
     * A memory hog wrote {@code hog} of RAM (90%) and exited just before the migration; otherwise idle. On a guest with
     * an operating system ({@code os} above 0) it leaves free what the QEMU backend's guest program leaves, 32 MiB and
     * a sixteenth of the free memory (the kernel's reserves and the hog's page tables: its {@code memhog} in
     * {@code init.c}); without one it may take every free page.
     */
    static final class MemHog extends Idle {
        /** 32 MiB: what the real guest's hog leaves free besides a sixteenth of the free memory. */
        static final long HOG_MARGIN_PAGES = (32L << 20) / RamLayout.PAGE_SIZE;

        MemHog(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            super(g, r, s);
        }

        @Override
        void boot() {
            super.boot();
            // The hog's own allocations, freed all at once when it exits.
            long free = guest.freePageCount();
            if (spec.osBytes() > 0) free = Math.max(0, free - (HOG_MARGIN_PAGES + free / 16));
            long want = Math.min(pagesParam("hog", "90%", totalPages), free);
            long[] blocks = new long[16];
            int n = 0;
            long done = 0;
            while (done < want) {
                int order = rnd.nextInt(11);
                while (order > 0 && (1L << order) > want - done) order--;
                long i = guest.allocPages(order);
                while (i < 0 && order > 0) i = guest.allocPages(--order);
                if (i < 0) break;
                guest.writeRange(i, 1L << order);
                if (n == blocks.length) blocks = java.util.Arrays.copyOf(blocks, n * 2);
                blocks[n++] = i << 8 | order;
                done += 1L << order;
            }
            for (int k = 0; k < n; k++) guest.freePages(blocks[k] >>> 8, 1L << (blocks[k] & 0xFF));
        }
    }

    /**
     * A build: a working set ({@code ws}, 20% of RAM) of small allocations (1 to 16 pages) that
     * churns at {@code churn} (200MiB/s of new allocations, the oldest freed), with rewrites of
     * the working set at {@code rate} (100MiB/s). Memory fragments as it runs.
     */
    static final class Compile extends Workload {
        final double churn;
        final double rate;
        long workingSet;
        long base;
        private double churnCredit;

        Compile(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            super(g, r, s);
            churn = rateParam("churn", "200MiB/s");
            rate = rateParam("rate", "100MiB/s");
        }

        @Override
        void boot() {
            base = allocWrite(pagesParam("used", "4%", totalPages), 0, 9);
            workingSet = pagesParam("ws", "20%", totalPages);
            allocWrite(workingSet, 0, 4);
        }

        @Override
        void tick(long dtNs) {
            churnCredit += churn * dtNs;
            if (churnCredit >= 1) {
                long n = (long) churnCredit;
                churnCredit -= n;
                allocWrite(n, 0, 4);
                freeOldest(base + workingSet);
            }
            randomWrites(rate, dtNs);
        }
    }

    /** {@code used} of RAM written (50%), then random writes to it at {@code rate} (100MiB/s). */
    static final class RandomWrite extends Workload {
        final double rate;

        RandomWrite(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            super(g, r, s);
            rate = rateParam("rate", "100MiB/s");
        }

        @Override
        void boot() {
            allocWrite(pagesParam("used", "50%", totalPages), 0, 9);
        }

        @Override
        void tick(long dtNs) {
            randomWrites(rate, dtNs);
        }
    }

    /**
     * {@code balloon:P}: the balloon holds all but P% of RAM (25); the guest uses {@code used} of
     * what is left (50%) and writes to it at {@code rate} (1MiB/s).
     */
    static class Ballooned extends Workload {
        final double keepPercent;
        final double rate;

        Ballooned(SimGuest g, SplittableRandom r, WorkloadSpec s, double dfltPercent) {
            super(g, r, s);
            keepPercent = percentArg(dfltPercent);
            rate = rateParam("rate", "1MiB/s");
        }

        Ballooned(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            this(g, r, s, 25);
        }

        @Override
        void boot() {
            long guestPages = (long) (totalPages * keepPercent / 100);
            guest.inflate(totalPages - guestPages, false);
            allocWrite(pagesParam("used", "50%", guestPages), 0, 9);
        }

        @Override
        void tick(long dtNs) {
            randomWrites(rate, dtNs);
        }
    }

    /**
     * {@code deflate-race:P}: ballooned like {@code balloon:P} (50), and while it migrates the
     * guest takes {@code step} (16MiB) back from the balloon every {@code every} (20ms), or once
     * the last deflate is done if that takes longer, and writes
     * it as soon as it has them (with MUST_TELL_HOST, once the host has taken the deflate's messages).
     * A guest without MUST_TELL_HOST tells the host only {@code late} (30ms) later.
     * {@code from=switch-over} starts taking pages back only once the guest runs on a postcopy
     * destination (after the switch-over; never in a migration without postcopy); {@code from=start},
     * the default, from the start.
     */
    static final class DeflateRace extends Ballooned {
        final long step;
        final long every;
        final long late;
        final boolean fromSwitchOver;
        private long sinceLast;
        /** Deflates under way: {first page, pages, when the guest has them}; it writes them then. */
        private final java.util.ArrayDeque<long[]> taking = new java.util.ArrayDeque<>();

        DeflateRace(SimGuest g, SplittableRandom r, WorkloadSpec s) {
            super(g, r, s, 50);
            step = pagesParam("step", "16MiB", totalPages);
            every = durationParam("every", "20ms");
            late = durationParam("late", "30ms");
            String from = s.param("from", "start");
            if (!from.equals("start") && !from.equals("switch-over")) {
                throw new IllegalArgumentException(
                        "workload deflate-race: from=" + from + ": expected start or switch-over");
            }
            fromSwitchOver = from.equals("switch-over");
        }

        @Override
        void tick(long dtNs) {
            super.tick(dtNs);
            writeTaken();
            if (fromSwitchOver && !guest.onPostcopyDestination()) return;
            sinceLast += dtNs;
            // its thread waits in the balloon driver until the host has taken its last deflate
            if (sinceLast < every || !taking.isEmpty()) return;
            sinceLast = 0;
            long[] d = guest.deflate(step, late, true, false);
            if (d != null) taking.add(d);
            writeTaken();
        }

        /** Writes the pages taken back whose deflate the host has answered (at once without MUST_TELL_HOST). */
        private void writeTaken() {
            while (!taking.isEmpty() && taking.peek()[2] <= guest.nowNs()) {
                long[] d = taking.poll();
                guest.writeRange(d[0], d[1]);
                for (long o = 0; o < d[1]; o++) keep(d[0] + o, 0);
            }
        }
    }

    /**
     * {@code pressure=P}: on top of a workload, an application allocates and writes P% of RAM at
     * {@link #RATE_BYTES_PER_SEC} while the guest runs, keeps it {@link #HOLD_NS}, exits (frees
     * it all) and starts again. When nothing is free its allocations reclaim as Linux's do
     * ({@link SimGuest#allocReclaiming}): the hint driver's shrinker first, then the balloon with
     * DEFLATE_ON_OOM. An allocation that still finds nothing stalls ({@code ALLOC_STALL}): the
     * application makes no progress, and tries again at each tick until the memory it needs is
     * back ({@code ALLOC_RESUMED}, with the wait). It starts once the workload has booted.
     */
    static final class Pressure extends Workload {
        static final long RATE_BYTES_PER_SEC = 1L << 30;
        static final long HOLD_NS = 100_000_000L;

        private final Workload inner;
        private final long targetPages;
        private final double pagesPerNs;
        private long[] blocks = new long[256];
        private int count;
        private long heldPages;
        private double credit;
        private long heldForNs;

        Pressure(Workload inner, double percent) {
            super(inner.guest, inner.rnd, inner.spec);
            this.inner = inner;
            this.targetPages = (long) (totalPages * percent / 100);
            this.pagesPerNs = RATE_BYTES_PER_SEC / (double) RamLayout.PAGE_SIZE / 1e9;
        }

        @Override
        void boot() {
            inner.boot();
        }

        @Override
        void tick(long dtNs) {
            inner.tick(dtNs);
            if (heldPages >= targetPages) {
                heldForNs += dtNs;
                if (heldForNs < HOLD_NS) return;
                for (int k = 0; k < count; k++) guest.freePages(blocks[k] >>> 8, 1L << (blocks[k] & 0xFF));
                count = 0;
                heldPages = 0;
                heldForNs = 0;
                credit = 0;
                return;
            }
            credit += pagesPerNs * dtNs;
            while (credit >= 1 && heldPages < targetPages) {
                int order = 9;
                while (order > 0 && (1L << order) > Math.min((long) credit, targetPages - heldPages)) order--;
                long i = guest.allocPages(order);
                while (i < 0 && order > 0) i = guest.allocPages(--order);
                if (i < 0) i = guest.allocReclaiming(order);
                if (i < 0) {
                    credit = 0; // stalled: the application waits, and tries again at the next tick
                    return;
                }
                guest.allocServed(order); // ends a stall: the wait is journaled (ALLOC_RESUMED)
                guest.writeRange(i, 1L << order);
                if (count == blocks.length) blocks = java.util.Arrays.copyOf(blocks, count * 2);
                blocks[count++] = i << 8 | order;
                heldPages += 1L << order;
                credit -= 1L << order;
            }
        }
    }
}
