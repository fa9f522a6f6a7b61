package dev.ballast.sim;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.EngineRunner;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
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
 * engine migrates it (retrying after injected failures, hop after hop for a chain), and the
 * run's {@link SimCheckers} check every invariant of {@code docs/invariants.md} as it goes and at
 * the end of each hop. Its knobs are {@link SimOptions}. One thread; the same scenario and seed
 * give the same events, byte for byte.
 */
public final class SimRun {
    /** The largest guest the simulator holds: its page versions take about 4 bytes a page of heap. */
    static final long MAX_GUEST_BYTES = 2L << 40;

    /**
     * Ways for tests to plant bugs through the same seams a user's own code would use: the
     * policy, the guest (a subclass) and the engine's view of it (a wrapper); and to watch each
     * engine the run creates (one per attempt), e.g. to cancel it from a wrapped guest.
     */
    public record Hooks(
            Supplier<MigrationPolicy> policy,
            GuestFactory guest,
            UnaryOperator<SourceGuest> source,
            Consumer<MigrationEngine> engine,
            UnaryOperator<PageLink> link) {
        public static final Hooks NONE = new Hooks(null, null, null, null, null);

        public Hooks(
                Supplier<MigrationPolicy> policy,
                GuestFactory guest,
                UnaryOperator<SourceGuest> source,
                Consumer<MigrationEngine> engine) {
            this(policy, guest, source, engine, null);
        }

        public Hooks withPolicy(Supplier<MigrationPolicy> p) {
            return new Hooks(p, guest, source, engine, link);
        }

        public Hooks withGuest(GuestFactory g) {
            return new Hooks(policy, g, source, engine, link);
        }

        public Hooks withSource(UnaryOperator<SourceGuest> s) {
            return new Hooks(policy, guest, s, engine, link);
        }

        /** Called with every engine the run creates, before its first step. */
        public Hooks withEngine(Consumer<MigrationEngine> e) {
            return new Hooks(policy, guest, source, e, link);
        }

        /** The engine's view of the link to the destination (a wrapper, e.g. one that forgets a postcopy discard). */
        public Hooks withLink(UnaryOperator<PageLink> l) {
            return new Hooks(policy, guest, source, engine, l);
        }
    }

    /** Makes the guest; a test may return a subclass. */
    @FunctionalInterface
    public interface GuestFactory {
        SimGuest create(SimGuest.Setup setup);
    }

    private final Scenario scenario;
    private final RamLayout layout;
    private final Hooks hooks;
    private final EventSink events;
    private final Backend.Progress progress;
    private final SimOptions options;

    private SimCosts costs;
    private SimGuest guest;
    private Workload workload;
    private SimCheckers checkers;
    private long nextTickNs;
    private boolean oldSwitchoverRule;
    /** The current hop's postcopy destination (null without postcopy). */
    private PostcopyDestination postcopy;

    private final List<PostcopyDestination.Figures> postcopyFigures = new ArrayList<>();

    public SimRun(Scenario scenario, RamLayout layout, Hooks hooks, EventSink events, Backend.Progress progress) {
        this(scenario, layout, hooks, events, progress, SimOptions.DEFAULTS);
    }

    public SimRun(
            Scenario scenario,
            RamLayout layout,
            Hooks hooks,
            EventSink events,
            Backend.Progress progress,
            SimOptions options) {
        check(scenario, layout);
        this.scenario = scenario;
        this.layout = layout;
        this.hooks = hooks;
        this.events = events;
        this.progress = progress;
        long hintRate = scenario.workload().hintRateBytesPerSec();
        this.options = hintRate > 0
                ? options.withHintDriver(
                        options.hintOrder(), hintRate / (double) (RamLayout.PAGE_SIZE << options.hintOrder()))
                : options;
    }

    /** What only the simulator refuses, as one {@link SettingException}: a guest over 2 TiB, a policy it does not know. */
    static void check(Scenario scenario, RamLayout layout) {
        if (!scenario.backend().equals("sim"))
            throw new SettingException("backend", scenario.backend(), "SimRun runs sim scenarios");
        if (layout.totalBytes() > MAX_GUEST_BYTES) {
            throw new SettingException("mem", Units.formatBytes(layout.totalBytes()), "the simulator holds at most 2T");
        }
        if (scenario.workload().params().containsKey("hint-order")) {
            throw new SettingException(
                    "workload",
                    scenario.workload().toString(),
                    "hint-order is the KVM guest's; " + "the simulator's hint driver has its own block sizes");
        }
        Policies.factory(scenario.policy()); // fails early on an unknown policy
    }

    public SimRun(Scenario scenario) {
        this(scenario, scenario.layout(), Hooks.NONE, EventSink.NONE, Backend.Progress.NONE);
    }

    /**
     * For tests of old journals: the engine decides the switch-over as it did before the final sync was counted
     * ({@code EngineConfig.countFinalSync} false, which a journal header without that field means).
     */
    public SimRun withOldSwitchoverRule() {
        oldSwitchoverRule = true;
        return this;
    }

    /** The guest after the run (for tests that look inside). */
    public SimGuest guest() {
        return guest;
    }

    /** Every invariant the run broke (for tests that look past the first). */
    public Violations violations() {
        return checkers.violations();
    }

    public RunReport run() {
        long wallStart = System.nanoTime();
        SplittableRandom root = new SplittableRandom(scenario.seed());
        SplittableRandom guestRandom = root.split();
        SplittableRandom faultRandom = root.split();
        // A sender's cap lifted for the stop-and-copy (stop-uncapped=1) is the engine's throttle alone: the link
        // under it is the cost profile's.
        costs = new SimCosts(
                scenario.costProfile(), scenario.workload().uncappedStop() ? 0 : scenario.bandwidthBitsPerSec());
        GuestFeatures features = scenario.features();
        checkers = new SimCheckers(layout, features.poisonByte());
        SimGuest.Setup setup = new SimGuest.Setup(
                layout,
                features,
                scenario.balloonMessages() == BalloonMessages.BITMAP,
                costs,
                checkers,
                options,
                SimGuest.Kernel.of(scenario.workload()),
                options.balloon());
        guest = hooks.guest() != null ? hooks.guest().create(setup) : new SimGuest(setup);
        guest.publishTo(events); // its reports, discards, shrinker and resident memory go into the journal
        workload = Workload.create(scenario.workload(), guest, guestRandom);
        workload.bootOs();
        workload.boot();
        nextTickNs = 0;

        EngineConfig cfg = scenario.engineConfig().withCountFinalSync(!oldSwitchoverRule);

        List<RunReport> hops = new ArrayList<>();
        for (int hop = 0; hop < scenario.chain(); hop++) {
            if (hop > 0) runGuestFor(options.driver().hopGapNs());
            if (guest.kernel.hintRun()) hostHintRun(cfg);
            hops.add(migrateOnce(cfg, hop, faultRandom));
            if (!hops.getLast().outcome().equals("completed")) break;
        }
        double wallMs = (System.nanoTime() - wallStart) / 1e6;
        return RunReports.run(scenario, hops, checkers.violations().first(), wallMs);
    }

    /** Each hop's postcopy figures, for the hops that switched to postcopy (for tests and the report). */
    public List<PostcopyDestination.Figures> postcopyFigures() {
        return List.copyOf(postcopyFigures);
    }

    private RunReport migrateOnce(EngineConfig cfg, int hop, SplittableRandom faultRandom) {
        SimDestination dest = new SimDestination(layout);
        postcopy = scenario.postcopy().enabled()
                ? new PostcopyDestination(dest, guest, costs, checkers.violations, events, cfg)
                : null;
        checkers.resend.startHop();
        long hopStart = costs.worldNs();
        List<RunReport.Attempt> attempts = new ArrayList<>();
        // The hop's statistics are its events' (the engines' own counters are the tests' cross-check).
        RunFold fold = new RunFold(layout, scenario.poisonByte(), cfg.pageHeaderBytes());
        EngineStats last = null;
        EventSink sink = checkers.hints.watching(EventSink.both(events, fold), guest);
        for (int attempt = 0; attempt < options.driver().maxAttempts(); attempt++) {
            long attemptStart = costs.worldNs();
            long failAfterPages = -1;
            long failAtNs = -1;
            if (attempt == 0 && scenario.failAt() != null) {
                failAfterPages = scenario.failAt().failAfterPages(layout.totalPages(), faultRandom);
                failAtNs = scenario.failAt().failAtNs(attemptStart);
            }
            SimLink link = new SimLink(guest, dest, costs, checkers.resend, failAfterPages, failAtNs, postcopy);
            MigrationPolicy policy = hooks.policy() != null ? hooks.policy().get() : Policies.create(scenario.policy());
            SourceGuest source = hooks.source() != null ? hooks.source().apply(guest) : guest;
            PageLink engineLink = hooks.link() != null ? hooks.link().apply(link) : link;
            MigrationEngine engine =
                    new MigrationEngine(cfg, scenario.postcopy(), source, engineLink, policy, sink, costs);
            if (hooks.engine() != null) hooks.engine().accept(engine);
            drive(engine, hop);
            last = fold.migrationStats();
            attempts.add(new RunReport.Attempt(
                    last.phase().name().toLowerCase(java.util.Locale.ROOT),
                    engine.stats().failureMessage(),
                    last.totalNs() / 1e6,
                    last.transferredBytes()));
            if (last.phase() == Phase.COMPLETED) break;
            checkers.failure.afterFailedAttempt(guest);
            runGuestFor(options.driver().retryDelayNs());
        }
        long hopNs = costs.worldNs() - hopStart;
        RunReport.Postcopy pc = null;
        if (postcopy != null && postcopy.active()) {
            postcopy.end(); // a migration that failed in postcopy: the faults still waiting are not served
            PostcopyDestination.Figures f = postcopy.figures();
            postcopyFigures.add(f);
            dev.ballast.core.engine.PostcopyStats e = fold.postcopyStats();
            pc = new RunReport.Postcopy(
                    e.switchOverNs() / 1e6,
                    e.bytesBefore(),
                    e.bytesAfter(),
                    e.requestedPages(),
                    e.unservedPages(),
                    e.discardedPages(),
                    e.balloonBitmapBytes(),
                    e.recoveries(),
                    f.faults(),
                    f.zeroPlaced(),
                    f.latencyMedianNs() / 1e6,
                    f.latencyP99Ns() / 1e6,
                    f.latencyMaxNs() / 1e6,
                    f.lostProgressNs() / 1e6);
        }
        RunReport.Verify verify;
        if (last.phase() == Phase.COMPLETED) {
            verify = verify(dest);
            guest.adopt(dest.content);
            guest.resume();
            postcopy = null;
        } else {
            verify = new RunReport.Verify(
                    0, 0, !checkers.violations().any(), checkers.violations().first());
        }
        return RunReports.hop(scenario, "virtual", fold.runStats(), last, hopNs, verify, attempts, fold.figures(), pc);
    }

    /**
     * A host's hint run that has not ended after this long (guest time) is ended (done) by the host: Linux's driver
     * ends one in a few ms; the slow drivers of the tests would otherwise run the guest for seconds before each hop.
     */
    static final long HINT_RUN_CAP_NS = 1_000_000_000L;

    /**
     * {@code hint-run=1}: before a migration the host runs a free page hint run of its own, as Firecracker does before
     * a snapshot ({@code hinting/start} with {@code acknowledge_on_stop}): a new command id, its device reads the
     * guest's reports as they arrive (and discards them with {@code discard-hinted=1}), and once the guest has stopped
     * it sends done, and the guest's driver gives its blocks back. The guest runs on meanwhile.
     */
    private void hostHintRun(EngineConfig cfg) {
        long start = costs.worldNs();
        long discarded = guest.hintDiscardedPages;
        long stalls = guest.allocStalls;
        guest.startHostHintRun(cfg.firstCommandId());
        do {
            runGuestFor(options.tickNs());
            guest.hostDrain();
        } while (!guest.hintRunFinished() && costs.worldNs() - start < HINT_RUN_CAP_NS);
        guest.hintCommand(dev.ballast.core.policy.CommandIds.DONE);
        long end = costs.worldNs();
        runGuestFor(options.tickNs()); // the driver gives its blocks back
        events.publish(
                EventType.HOST_HINT_RUN,
                end,
                end - start,
                guest.hintDiscardedPages - discarded,
                guest.allocStalls - stalls);
    }

    private void drive(MigrationEngine engine, int hop) {
        EngineRunner runner = new EngineRunner(
                costs,
                wakeAt -> {
                    if (wakeAt > costs.worldNs()) costs.advanceTo(wakeAt);
                },
                options.maxSteps(),
                256,
                Long.MAX_VALUE);
        runner.run(
                EngineRunner.of(engine),
                new EngineRunner.StepHooks() {
                    @Override
                    public void beforeStep() {
                        runGuestUntil(costs.worldNs());
                    }

                    @Override
                    public void afterStep(long step, int work) {
                        costs.endStep(options.minStepNs());
                    }
                },
                () -> progress.update(
                        engine.phase().name().toLowerCase(java.util.Locale.ROOT)
                                + (hop > 0 ? " (hop " + (hop + 1) + ")" : ""),
                        engine.iteration(),
                        engine.passProgress(),
                        engine.transferredBytes()),
                " (seed " + scenario.seed() + ")");
    }

    private void runGuestFor(long ns) {
        costs.advanceTo(costs.worldNs() + ns);
        runGuestUntil(costs.worldNs());
    }

    /** Runs the guest's workload and drivers up to virtual time {@code t}. */
    private void runGuestUntil(long t) {
        while (nextTickNs <= t) {
            guest.setNow(nextTickNs);
            if (postcopy != null) postcopy.tick(nextTickNs);
            if (postcopy != null && postcopy.stalled()) {
                postcopy.lostProgress(options.tickNs()); // its vCPUs wait for a page
            } else {
                if (guest.running()) workload.tick(options.tickNs());
                guest.tick(options.tickNs());
            }
            nextTickNs += options.tickNs();
        }
        guest.setNow(t);
    }

    /** Invariants 1, 2 and 5 at the end of a hop that completed ({@link SimCheckers#endOfHop}), and its VERIFY event. */
    private RunReport.Verify verify(SimDestination dest) {
        SimCheckers.Checked c = checkers.endOfHop(guest, dest);
        events.publish(EventType.VERIFY, costs.worldNs(), c.pages(), c.mismatched(), -1);
        return new RunReport.Verify(
                c.pages(),
                c.mismatched(),
                !checkers.violations().any(),
                checkers.violations().first());
    }
}
