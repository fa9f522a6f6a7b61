package dev.ballast.properties;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.FailPoint;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * The jqwik generators of simulated migrations. Guests are small (16 to 256 MiB in one to three
 * blocks) so a run takes about a millisecond; everything else covers what a user can set: every
 * workload with its parameters, every policy, bandwidth, downtime and iteration limits, poisoning,
 * MUST_TELL_HOST, balloon message kinds, hint command ids near the wrap, hint drivers fast and slow,
 * link failures, cancels, chains, and the root seed.
 *
 * <p>{@link #cases()} draws from all of it; the focused variants narrow one part so that a property
 * about, say, poisoning spends its tries on poisoned guests. Every part shrinks toward the plainest
 * value (one block, 16 MiB, the first workload, no faults), so a counterexample shrinks to a case a
 * person can read.
 */
public final class Generators {
    private Generators() {}

    static final long MIB_PAGES = 256;

    // ------------------------------------------------------------------ layouts

    /** One to three blocks of odd sizes, 16 to 256 MiB in all, in any host order, adjacent or with holes between them. */
    public static Arbitrary<SimCase.Layout> layouts() {
        return layouts(Arbitraries.integers().between(1, 3), gaps());
    }

    /** Two or three blocks, at least two of them adjacent in guest-physical memory, in any host order. */
    public static Arbitrary<SimCase.Layout> adjacentLayouts() {
        return layouts(
                        Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(2)), Tuple.of(4, Arbitraries.just(3))),
                        Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(0L)), Tuple.of(1, holes())))
                .filter(SimCase.Layout::hasAdjacentBlocks);
    }

    private static Arbitrary<Long> holes() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.longs().between(1, 4096)), Tuple.of(1, Arbitraries.just(1L << 18)));
    }

    /** The gap in front of a block in guest-physical memory: none (adjacent), a small hole, or a PC-like 1 GiB hole. */
    private static Arbitrary<Long> gaps() {
        return Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(0L)), Tuple.of(2, holes()));
    }

    private static Arbitrary<SimCase.Layout> layouts(Arbitrary<Integer> blockCounts, Arbitrary<Long> gaps) {
        return Combinators.combine(
                        blockCounts,
                        Arbitraries.integers().between(16, 256).map(m -> m * (int) MIB_PAGES), // pages in all
                        Arbitraries.integers().between(0, 10), // sizes: multiples of 2^granule pages
                        Arbitraries.integers().between(1, 99).list().ofSize(2), // where the total is cut, percent
                        gaps.list().ofSize(3), // gap before each block
                        Arbitraries.integers().between(0, 5), // host order: a permutation
                        Arbitraries.of(0L, 0x100L, 0x4_0000L, 0x10_0000L), // first PFN
                        Arbitraries.integers().between(0, 255) // odd extra pages
                        )
                .as(Generators::layout);
    }

    private static final String[][] NAMES = {{"ram"}, {"ram-low", "ram-high"}, {"ram-low", "ram-mid", "ram-high"}};
    private static final int[][][] ORDERS = {
        {{0}}, {{0, 1}, {1, 0}}, {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}},
    };

    static SimCase.Layout layout(
            int n, int total, int granule, List<Integer> cuts, List<Long> gaps, int order, long base, int odd) {
        long g = 1L << granule;
        long[] sizes = new long[n];
        int[] c = cuts.stream().mapToInt(Integer::intValue).sorted().toArray();
        long at = 0;
        for (int i = 0; i < n; i++) {
            long end = i == n - 1 ? total : (long) total * c[i] / 100;
            sizes[i] = Math.max(end - at, 64);
            at = Math.max(end, at);
        }
        List<RamLayout.Spec> physical = new ArrayList<>();
        long pfn = base;
        for (int i = 0; i < n; i++) {
            long s = Math.max(g, sizes[i] / g * g);
            if (granule == 0) s = Math.max(64, s - odd % Math.max(1, s / 4)); // odd sizes when the granule is one page
            pfn += gaps.get(i);
            physical.add(new RamLayout.Spec(NAMES[n - 1][i], pfn, s));
            pfn += s;
        }
        int[] perm = ORDERS[n - 1][order % ORDERS[n - 1].length];
        List<RamLayout.Spec> host = new ArrayList<>();
        for (int i : perm) host.add(physical.get(i));
        return new SimCase.Layout(List.copyOf(host));
    }

    // ------------------------------------------------------------------ workloads

    public static Arbitrary<String> workloads() {
        return withKernel(
                Arbitraries.oneOf(idle(), memhog(), compile(), randomWrite(), ballooned(), deflateRace()), kernels());
    }

    /** Workloads that write while they migrate and reuse memory they freed (what breaks a careless optimization). */
    public static Arbitrary<String> busyWorkloads() {
        return withKernel(Arbitraries.oneOf(compile(), randomWrite(), deflateRace()), kernels());
    }

    /**
     * The hint driver that runs under memory pressure, where its shrinker gives blocks back:
     * {@code linux-acked}, the changed protocol of docs/findings.md (findings 1 and 2), unless
     * {@code -Dballast.hintDriver=linux} asks for the driver Linux ships, with which the suite finds
     * the lost writes of those findings. {@link FindingsTest} sets it while it runs a property
     * against the protocol as written.
     */
    static final String SHRINKING_DRIVER = System.getProperty("ballast.hintDriver", "linux-acked");

    private static volatile String shrinkingDriver = SHRINKING_DRIVER;

    /** The hint driver the generators draw under memory pressure now. */
    static String shrinkingDriver() {
        return shrinkingDriver;
    }

    /** Makes the generators draw {@code driver} under memory pressure ({@code linux} or {@code linux-acked}). */
    static void shrinkingDriver(String driver) {
        shrinkingDriver = driver;
    }

    /** The host and guest keys of the simulator held against QEMU (README), scaled to fit a 16 MiB guest. */
    static final String QEMU_LIKE = ",dirty-log=sync,sync-before-stop=1,stop-uncapped=1"
            + ",os=4M,os-top=1M,os-freed=1M,os-reserved=2M,min-free=2M";

    /**
     * The simulated guest's kernel settings, appended to a workload: free page reporting, the hint
     * driver (Linux's, the default, or the idealised one), zeroing on allocation, memory pressure
     * (none half of the time, else 10 to 100 % of RAM on top of the workload), DEFLATE_ON_OOM, and
     * a host that discards hinted pages as Firecracker's does, with or without a hint run of its own
     * before each migration (only with Linux's driver: the idealised one gives held pages back to
     * the free lists as they are, which a discard would leave unpoisoned), and the host's dirty log
     * (re-armed range by range, or cleared by syncs only, as under TCG), or all of a QEMU-like host under TCG and a
     * real guest's memory as the simulator is held against QEMU with (syncs only, the sync before the stop, the cap
     * lifted for the stop-and-copy, and an OS at both ends of RAM with leftovers, reserves and a min watermark, small
     * enough for the smallest guest). Shrinks toward none of them.
     */
    public static Arbitrary<String> kernels() {
        Arbitrary<Integer> pressure = Arbitraries.oneOf(Arbitraries.just(0), percent(10, 100));
        return Combinators.combine(
                        Arbitraries.of("linux", "ideal"),
                        Arbitraries.of(false, true),
                        pressure,
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true),
                        Arbitraries.of("", ",dirty-log=sync", QEMU_LIKE))
                .as((driver, zero, p, oom, reporting, discardHinted, hintRun, host) -> {
                    StringBuilder sb = new StringBuilder();
                    if (reporting) sb.append(",reporting=1");
                    if (discardHinted && driver.equals("linux")) sb.append(",discard-hinted=1");
                    if (hintRun) sb.append(",hint-run=1");
                    if (driver.equals("ideal")) sb.append(",hint-driver=ideal");
                    else if (p > 0) sb.append(",hint-driver=").append(shrinkingDriver());
                    if (zero) sb.append(",init-on-alloc=1");
                    if (p > 0) sb.append(",pressure=").append(p).append('%');
                    if (oom) sb.append(",deflate-on-oom=1");
                    sb.append(host);
                    return sb.toString();
                });
    }

    /**
     * Kernels of finding 2's kind (docs/findings.md): Linux's driver under memory pressure (10 to
     * 100 % of RAM) with a host that discards hinted pages, with or without a hint run of its own
     * before each migration, with or without free page reporting, zeroing on allocation and
     * DEFLATE_ON_OOM. The driver is {@link #shrinkingDriver()}.
     */
    public static Arbitrary<String> discardingKernels() {
        return Combinators.combine(
                        percent(10, 100),
                        Arbitraries.of(true, false),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as((p, hintRun, zero, oom, reporting) -> {
                    StringBuilder sb = new StringBuilder();
                    if (reporting) sb.append(",reporting=1");
                    sb.append(",discard-hinted=1");
                    if (hintRun) sb.append(",hint-run=1");
                    sb.append(",hint-driver=").append(shrinkingDriver());
                    if (zero) sb.append(",init-on-alloc=1");
                    sb.append(",pressure=").append(p).append('%');
                    if (oom) sb.append(",deflate-on-oom=1");
                    return sb.toString();
                });
    }

    static Arbitrary<String> withKernel(Arbitrary<String> workloads, Arbitrary<String> kernels) {
        return Combinators.combine(workloads, kernels).as((w, k) -> w + k);
    }

    /** Workloads whose guest writes nothing while it migrates (the host still writes its device rings). */
    public static Arbitrary<String> quietWorkloads() {
        return Arbitraries.oneOf(
                percent(1, 30).map(u -> "idle,used=" + u + "%,rate=0MiB/s"),
                Combinators.combine(percent(1, 20), percent(10, 95))
                        .as((u, h) -> "memhog,used=" + u + "%,hog=" + h + "%,rate=0MiB/s"),
                Combinators.combine(percent(5, 90), percent(10, 90))
                        .as((p, u) -> "balloon:" + p + ",used=" + u + "%,rate=0MiB/s"));
    }

    private static Arbitrary<Integer> percent(int min, int max) {
        return Arbitraries.integers().between(min, max);
    }

    private static Arbitrary<Integer> mibPerSec(int min, int max) {
        return Arbitraries.integers().between(min, max);
    }

    public static Arbitrary<String> idle() {
        return Combinators.combine(percent(1, 30), mibPerSec(0, 64))
                .as((u, r) -> "idle,used=" + u + "%,rate=" + r + "MiB/s");
    }

    public static Arbitrary<String> memhog() {
        return Combinators.combine(percent(1, 20), percent(10, 95), mibPerSec(0, 16))
                .as((u, h, r) -> "memhog,used=" + u + "%,hog=" + h + "%,rate=" + r + "MiB/s");
    }

    public static Arbitrary<String> compile() {
        return Combinators.combine(percent(1, 10), percent(5, 40), mibPerSec(10, 400), mibPerSec(10, 400))
                .as((u, ws, churn, r) ->
                        "compile,used=" + u + "%,ws=" + ws + "%,churn=" + churn + "MiB/s,rate=" + r + "MiB/s");
    }

    public static Arbitrary<String> randomWrite() {
        return Combinators.combine(percent(5, 80), mibPerSec(1, 800))
                .as((u, r) -> "random-write,used=" + u + "%,rate=" + r + "MiB/s");
    }

    public static Arbitrary<String> ballooned() {
        return Combinators.combine(percent(5, 90), percent(10, 90), mibPerSec(0, 16))
                .as((p, u, r) -> "balloon:" + p + ",used=" + u + "%,rate=" + r + "MiB/s");
    }

    public static Arbitrary<String> deflateRace() {
        return Combinators.combine(
                        percent(10, 90),
                        Arbitraries.integers().between(1, 16),
                        Arbitraries.integers().between(1, 50),
                        Arbitraries.integers().between(1, 60),
                        percent(10, 90),
                        mibPerSec(0, 16))
                .as((p, step, every, late, u, r) -> "deflate-race:" + p + ",step=" + step + "M,every=" + every
                        + "ms,late=" + late + "ms,used=" + u + "%,rate=" + r + "MiB/s");
    }

    // ------------------------------------------------------------------ policies, guests, limits, faults

    public static Arbitrary<String> policies() {
        return Arbitraries.of(Policies.BUILT_IN);
    }

    public static Arbitrary<String> hintPolicies() {
        return Arbitraries.of("hint", "hint+balloon");
    }

    /** Command ids: the first one, a few before the wrap from 0xFFFFFFFF to 0x80000000, or anywhere. */
    public static Arbitrary<Long> hintStartIds() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(CommandIds.MIN)),
                Tuple.of(2, Arbitraries.longs().between(0, 12).map(k -> CommandIds.MAX - k)),
                Tuple.of(1, Arbitraries.longs().between(CommandIds.MIN, CommandIds.MAX)));
    }

    public static Arbitrary<Integer> poisons() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(0)),
                Tuple.of(1, Arbitraries.integers().between(1, 255)));
    }

    /** Hint drivers: Linux's 4 MiB blocks reported at once, down to single pages reported slowly (still in flight at a sync). */
    public static Arbitrary<Integer> hintOrders() {
        return Arbitraries.frequencyOf(
                Tuple.of(2, Arbitraries.just(10)),
                Tuple.of(3, Arbitraries.integers().between(0, 10)));
    }

    public static Arbitrary<Integer> hintRates() {
        return Arbitraries.of(1_000_000, 100_000, 10_000, 2_000, 500);
    }

    public static Arbitrary<SimCase.Guest> guests() {
        return guests(poisons(), Arbitraries.of(true, false), hintStartIds(), hintRates(), Arbitraries.of(false, true));
    }

    public static Arbitrary<SimCase.Guest> guests(
            Arbitrary<Integer> poison,
            Arbitrary<Boolean> tellHost,
            Arbitrary<Long> startIds,
            Arbitrary<Integer> rates,
            Arbitrary<Boolean> boundaryHints) {
        return Combinators.combine(
                        poison, tellHost, Arbitraries.of("pfn", "bitmap"), startIds, hintOrders(), rates, boundaryHints)
                .as(SimCase.Guest::new);
    }

    /** 100 Mbit/s to 10 Gbit/s, 1 ms to 2 s of downtime, 1 to 30 passes, sometimes a time cap. */
    public static Arbitrary<SimCase.Limits> limits() {
        return Combinators.combine(
                        Arbitraries.longs()
                                .between(100, 10_000)
                                .shrinkTowards(10_000)
                                .map(m -> m * 1_000_000L),
                        Arbitraries.frequencyOf(
                                        Tuple.of(1, Arbitraries.just(2_000L)),
                                        Tuple.of(3, Arbitraries.longs().between(1, 2_000)))
                                .map(ms -> ms * 1_000_000L),
                        Arbitraries.integers().between(1, 30).shrinkTowards(30),
                        Arbitraries.frequencyOf(
                                Tuple.of(4, Arbitraries.just(0L)),
                                Tuple.of(
                                        1, Arbitraries.longs().between(5, 2_000).map(ms -> ms * 1_000_000L))))
                .as(SimCase.Limits::new);
    }

    /** Limits that make a migration take several passes: short downtimes, links down to 200 Mbit/s. */
    public static Arbitrary<SimCase.Limits> manyPassLimits() {
        return Combinators.combine(
                        Arbitraries.longs().between(200, 10_000).map(m -> m * 1_000_000L),
                        Arbitraries.longs().between(1, 100).map(ms -> ms * 1_000_000L),
                        Arbitraries.integers().between(3, 30),
                        Arbitraries.just(0L))
                .as(SimCase.Limits::new);
    }

    /** A link failure (at a share of the guest's pages, a time, or anywhere), a cancel, or both; sometimes a chain. */
    public static Arbitrary<SimCase.Faults> faults() {
        Arbitrary<String> failAt = Arbitraries.frequencyOf(
                // a share of the guest's pages in the first pass (5 % to 100 %), then multiples of them (1.01x to 3x)
                Tuple.of(
                        2,
                        Arbitraries.integers()
                                .between(5, 300)
                                .map(p -> p <= 100 ? p + "%" : java.math.BigDecimal.valueOf(p, 2) + "x")),
                Tuple.of(2, Arbitraries.integers().between(1, 400).map(ms -> ms + "ms")),
                Tuple.of(1, Arbitraries.just("random")));
        Arbitrary<Double> cancelAt = Arbitraries.integers().between(5, 300).map(p -> p / 100.0);
        return Arbitraries.frequencyOf(
                Tuple.of(3, Combinators.combine(failAt, chains()).as((f, c) -> new SimCase.Faults(f, -1, c))),
                Tuple.of(2, Combinators.combine(cancelAt, chains()).as((x, c) -> new SimCase.Faults(null, x, c))),
                Tuple.of(
                        1,
                        Combinators.combine(failAt, cancelAt, chains()).as((f, x, c) -> new SimCase.Faults(f, x, c))));
    }

    private static Arbitrary<Integer> chains() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(1)),
                Tuple.of(2, Arbitraries.integers().between(2, 3)));
    }

    public static Arbitrary<SimCase.Faults> anyFaults() {
        return Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(SimCase.Faults.NONE)), Tuple.of(1, faults()));
    }

    public static Arbitrary<SimCase.Faults> chainsOnly() {
        return Arbitraries.integers().between(2, 4).map(c -> new SimCase.Faults(null, -1, c));
    }

    /** A switch to postcopy after pass 1 to 4, or automatic (hints refused with it, as QEMU does). */
    public static Arbitrary<dev.ballast.core.engine.Postcopy> postcopies() {
        return Arbitraries.frequencyOf(
                Tuple.of(
                        3,
                        Arbitraries.integers()
                                .between(1, 4)
                                .map(n -> dev.ballast.core.engine.Postcopy.parse(Integer.toString(n)))),
                Tuple.of(1, Arbitraries.just(dev.ballast.core.engine.Postcopy.parse("auto"))));
    }

    public static Arbitrary<Long> seeds() {
        return Arbitraries.longs();
    }

    // ------------------------------------------------------------------ whole cases

    /** Builds a case arbitrary from parts; every part defaults to "anything". */
    public static final class Cases {
        Arbitrary<SimCase.Layout> layout = layouts();
        Arbitrary<String> workload = workloads();
        Arbitrary<String> policy = policies();
        Arbitrary<SimCase.Guest> guest = guests();
        Arbitrary<SimCase.Limits> limits = Generators.limits();
        Arbitrary<SimCase.Faults> faults = anyFaults();
        Arbitrary<dev.ballast.core.engine.Postcopy> postcopy = Arbitraries.just(dev.ballast.core.engine.Postcopy.OFF);

        public Cases layout(Arbitrary<SimCase.Layout> a) {
            layout = a;
            return this;
        }

        public Cases workload(Arbitrary<String> a) {
            workload = a;
            return this;
        }

        public Cases policy(Arbitrary<String> a) {
            policy = a;
            return this;
        }

        public Cases guest(Arbitrary<SimCase.Guest> a) {
            guest = a;
            return this;
        }

        public Cases limits(Arbitrary<SimCase.Limits> a) {
            limits = a;
            return this;
        }

        public Cases faults(Arbitrary<SimCase.Faults> a) {
            faults = a;
            return this;
        }

        public Cases postcopy(Arbitrary<dev.ballast.core.engine.Postcopy> a) {
            postcopy = a;
            return this;
        }

        /** Every case a user could run: a link failure timed at or past the time cap is refused as past the end, so is none. */
        public Arbitrary<SimCase> build() {
            return Combinators.combine(layout, workload, policy, guest, limits, faults, seeds(), postcopy)
                    .as(SimCase::new)
                    .filter(c -> !failsPastTheTimeCap(c));
        }
    }

    static boolean failsPastTheTimeCap(SimCase c) {
        if (c.faults().failAt() == null || c.limits().timeCapNs() == 0) return false;
        long atNs = FailPoint.parse(c.faults().failAt()).atNs();
        return atNs >= 0 && atNs >= c.limits().timeCapNs();
    }

    public static Cases cases() {
        return new Cases();
    }
}
