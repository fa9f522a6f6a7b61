package dev.ballast.sim;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.RunReports;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * One simulated run of a scenario: a guest boots and runs its workload on a virtual clock, the
 * engine migrates it (retrying after injected failures, hop after hop for a chain), and at the
 * end every invariant of DESIGN.md is checked. One thread; the same scenario and seed give the
 * same events, byte for byte.
 */
public final class SimRun {
    /** How often the guest's workload and drivers run, in virtual time. */
    static final long TICK_NS = 1_000_000L;
    /** How long the guest runs between a failed attempt and its retry, and between hops. */
    static final long RETRY_DELAY_NS = 100_000_000L;
    static final long HOP_GAP_NS = 200_000_000L;
    static final int MAX_ATTEMPTS = 4;
    static final long MAX_STEPS = 50_000_000L;
    /** The largest guest the simulator holds: its page versions take about 4 bytes a page of heap. */
    static final long MAX_GUEST_BYTES = 2L << 40;

    /**
     * Ways for tests to plant bugs through the same seams a user's own code would use: the
     * policy, the guest (a subclass) and the engine's view of it (a wrapper); and to watch each
     * engine the run creates (one per attempt), e.g. to cancel it from a wrapped guest.
     */
    public record Hooks(Supplier<MigrationPolicy> policy, GuestFactory guest, UnaryOperator<SourceGuest> source,
                        Consumer<MigrationEngine> engine) {
        public static final Hooks NONE = new Hooks(null, null, null, null);

        public Hooks withPolicy(Supplier<MigrationPolicy> p) { return new Hooks(p, guest, source, engine); }

        public Hooks withGuest(GuestFactory g) { return new Hooks(policy, g, source, engine); }

        public Hooks withSource(UnaryOperator<SourceGuest> s) { return new Hooks(policy, guest, s, engine); }

        /** Called with every engine the run creates, before its first step. */
        public Hooks withEngine(Consumer<MigrationEngine> e) { return new Hooks(policy, guest, source, e); }
    }

    /** Makes the guest; a test may return a subclass. */
    @FunctionalInterface
    public interface GuestFactory {
        SimGuest create(RamLayout layout, GuestFeatures features, boolean bitmapMessages, SimCosts costs, Violations v);
    }

    private final Scenario scenario;
    private final RamLayout layout;
    private final Hooks hooks;
    private final EventSink events;
    private final Backend.Progress progress;

    private SimCosts costs;
    private SimGuest guest;
    private Workload workload;
    private Violations violations;
    private long nextTickNs;

    public SimRun(Scenario scenario, RamLayout layout, Hooks hooks, EventSink events, Backend.Progress progress) {
        check(scenario, layout);
        this.scenario = scenario;
        this.layout = layout;
        this.hooks = hooks;
        this.events = events;
        this.progress = progress;
    }

    /** What only the simulator refuses, as one {@link SettingException}: a guest over 2 TiB, a policy it does not know. */
    static void check(Scenario scenario, RamLayout layout) {
        if (!scenario.backend().equals("sim")) throw new SettingException("backend", scenario.backend(), "SimRun runs sim scenarios");
        if (layout.totalBytes() > MAX_GUEST_BYTES) {
            throw new SettingException("mem", Units.formatBytes(layout.totalBytes()), "the simulator holds at most 2T");
        }
        if (scenario.workload().params().containsKey("hint-order")) {
            throw new SettingException("workload", scenario.workload().toString(), "hint-order is the KVM guest's; "
                    + "the simulator's hint driver has its own block sizes");
        }
        Policies.factory(scenario.policy()); // fails early on an unknown policy
    }

    public SimRun(Scenario scenario) {
        this(scenario, scenario.layout(), Hooks.NONE, EventSink.NONE, Backend.Progress.NONE);
    }

    /** The guest after the run (for tests that look inside). */
    public SimGuest guest() { return guest; }

    /** Every invariant the run broke (for tests that look past the first). */
    public Violations violations() { return violations; }

    public RunReport run() {
        long wallStart = System.nanoTime();
        SplittableRandom root = new SplittableRandom(scenario.seed());
        SplittableRandom guestRandom = root.split();
        SplittableRandom faultRandom = root.split();
        costs = new SimCosts(scenario.costProfile(), scenario.bandwidthBitsPerSec());
        violations = new Violations();
        GuestFeatures features = scenario.features();
        boolean bitmapMessages = scenario.balloonMessages() == BalloonMessages.BITMAP;
        guest = hooks.guest() != null
                ? hooks.guest().create(layout, features, bitmapMessages, costs, violations)
                : new SimGuest(layout, features, bitmapMessages, costs, violations, 10, 1e6);
        workload = Workload.create(scenario.workload(), guest, guestRandom);
        workload.boot();
        nextTickNs = 0;

        EngineConfig cfg = scenario.engineConfig();

        List<RunReport> hops = new ArrayList<>();
        for (int hop = 0; hop < scenario.chain(); hop++) {
            if (hop > 0) runGuestFor(HOP_GAP_NS);
            hops.add(migrateOnce(cfg, hop, faultRandom));
            if (!hops.getLast().outcome().equals("completed")) break;
        }
        double wallMs = (System.nanoTime() - wallStart) / 1e6;
        return RunReports.run(scenario, hops, violations.first(), wallMs);
    }

    private RunReport migrateOnce(EngineConfig cfg, int hop, SplittableRandom faultRandom) {
        SimDestination dest = new SimDestination(layout);
        ResendLedger ledger = new ResendLedger(layout, violations);
        guest.setLedger(ledger);
        long hopStart = costs.worldNs();
        List<RunReport.Attempt> attempts = new ArrayList<>();
        EngineStats sum = null;
        EngineStats last = null;
        CheckingSink sink = new CheckingSink(events, guest, violations, layout);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            long attemptStart = costs.worldNs();
            long failAfterPages = -1;
            long failAtNs = -1;
            if (attempt == 0 && scenario.failAt() != null) {
                failAfterPages = scenario.failAt().failAfterPages(layout.totalPages(), faultRandom);
                failAtNs = scenario.failAt().failAtNs(attemptStart);
            }
            SimLink link = new SimLink(guest, dest, costs, ledger, failAfterPages, failAtNs);
            MigrationPolicy policy = hooks.policy() != null ? hooks.policy().get() : Policies.create(scenario.policy());
            SourceGuest source = hooks.source() != null ? hooks.source().apply(guest) : guest;
            MigrationEngine engine = new MigrationEngine(cfg, source, link, policy, sink, costs);
            if (hooks.engine() != null) hooks.engine().accept(engine);
            drive(engine, hop);
            last = engine.stats();
            sum = sum == null ? last : RunReports.add(sum, last);
            attempts.add(new RunReport.Attempt(last.phase().name().toLowerCase(java.util.Locale.ROOT),
                    last.failureMessage(), last.totalNs() / 1e6, last.transferredBytes()));
            if (last.phase() == Phase.COMPLETED) break;
            if (!guest.running() || !guest.dirtyLogging()) {
                violations.record(6, "after the failed attempt the source guest was " + (guest.running() ? "running" : "paused")
                        + " with dirty logging " + (guest.dirtyLogging() ? "on" : "off"));
            }
            runGuestFor(RETRY_DELAY_NS);
        }
        long hopNs = costs.worldNs() - hopStart;
        RunReport.Verify verify;
        if (last.phase() == Phase.COMPLETED) {
            verify = verify(dest);
            guest.adopt(dest.content);
            guest.resume();
        } else {
            verify = new RunReport.Verify(0, 0, !violations.any(), violations.first());
        }
        return RunReports.hop(scenario, "virtual", sum, last, hopNs, verify, attempts);
    }

    private void drive(MigrationEngine engine, int hop) {
        long steps = 0;
        long lastProgress = 0;
        while (!engine.phase().isTerminal()) {
            runGuestUntil(costs.worldNs());
            int work = engine.doWork();
            costs.endStep(1_000);
            if (work == 0 && engine.wakeAtNs() > costs.worldNs()) costs.advanceTo(engine.wakeAtNs());
            if (++steps > MAX_STEPS) {
                throw new IllegalStateException("the migration did not end within " + MAX_STEPS + " steps (seed " + scenario.seed() + ")");
            }
            if (steps - lastProgress >= 256) {
                lastProgress = steps;
                progress.update(engine.phase().name().toLowerCase(java.util.Locale.ROOT) + (hop > 0 ? " (hop " + (hop + 1) + ")" : ""),
                        engine.iteration(), engine.passProgress(), engine.transferredBytes());
            }
        }
    }

    private void runGuestFor(long ns) {
        costs.advanceTo(costs.worldNs() + ns);
        runGuestUntil(costs.worldNs());
    }

    /** Runs the guest's workload and drivers up to virtual time {@code t}. */
    private void runGuestUntil(long t) {
        while (nextTickNs <= t) {
            guest.setNow(nextTickNs);
            if (guest.running()) workload.tick(TICK_NS);
            guest.tick(TICK_NS);
            nextTickNs += TICK_NS;
        }
        guest.setNow(t);
    }

    /** Invariants 1, 2 and 5 at the end of a hop: what the guest uses holds what it wrote. */
    private RunReport.Verify verify(SimDestination dest) {
        long checked = 0;
        long mismatched = 0;
        int poison = scenario.poisonByte();
        for (RamBlock b : layout.blocks()) {
            int[] src = guest.content[b.index()];
            int[] dst = dest.content[b.index()];
            for (int i = 0; i < src.length; i++) {
                long index = b.firstIndex() + i;
                if (guest.inUse(index)) {
                    checked++;
                    if (src[i] != dst[i]) {
                        mismatched++;
                        int inv = guest.isRingPage(index) ? 5 : 1;
                        violations.record(inv, "page " + layout.describeIndex(index) + " holds " + describe(dst[i])
                                + " on the destination but " + describe(src[i]) + " on the source"
                                + (inv == 5 ? " (a page the host writes: a device ring)" : ""));
                    }
                } else if (poison != 0 && !guest.balloon.get(index)) {
                    checked++;
                    if (dst[i] != -poison) {
                        mismatched++;
                        violations.record(2, "free page " + layout.describeIndex(index) + " reads " + describe(dst[i])
                                + " on the destination, not the poison value 0x" + Integer.toHexString(poison));
                    }
                }
            }
        }
        events.publish(EventType.VERIFY, costs.worldNs(), checked, mismatched, -1);
        return new RunReport.Verify(checked, mismatched, !violations.any(), violations.first());
    }

    private static String describe(int v) {
        if (v == 0) return "zeros";
        if (v < 0) return "bytes 0x" + Integer.toHexString(-v);
        return "version " + v;
    }
}
