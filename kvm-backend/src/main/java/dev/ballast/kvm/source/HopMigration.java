package dev.ballast.kvm.source;

import dev.ballast.core.engine.Clock;
import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.EngineRunner;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.engine.PostcopyStats;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.invariant.FaultBound;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.DriverOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.guest.KvmGuest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * One migration of a running KVM guest to a {@link Target}, with its retries: the engine on the
 * wall clock through a {@link WireLink}; a failed attempt leaves the source running with its
 * dirty log, and after a delay that doubles with each failure ({@link #retryDelayNs}: a real destination
 * that refuses or is busy is not hammered; {@link DriverOptions} gives the number of attempts) the next attempt
 * resumes (same session: the
 * destination asks only for what it lacks). Used by {@code ballast run} for every hop and by
 * {@code ballast dest --forward}.
 */
public final class HopMigration {
    /** The wait before the first retry. */
    static final long RETRY_DELAY_NS = 250_000_000L;
    /** The longest wait between two attempts. */
    static final long MAX_RETRY_DELAY_NS = 8_000_000_000L;
    /** The longest park while the engine waits (the guest's failure is checked between parks). */
    static final long MAX_PARK_NS = 10_000_000L;
    /** How often the progress line is updated, in wall time. */
    static final long PROGRESS_EVERY_NS = 50_000_000L;

    /**
     * @param driver         attempts (the delay before each retry backs off: {@link #retryDelayNs})
     * @param failAfterPages the first attempt's link fails after this many pages (-1: never)
     * @param failAtNs       the first attempt's link fails at this {@link System#nanoTime()} (-1: never)
     */
    public record Settings(
            EngineConfig engine,
            String policy,
            WireSecret secret,
            DriverOptions driver,
            long failAfterPages,
            long failAtNs,
            Postcopy postcopy) {
        public Settings {
            Policies.factory(policy);
            if (postcopy == null) postcopy = Postcopy.OFF;
        }

        /** Pre-copy only. */
        public Settings(
                EngineConfig engine,
                String policy,
                WireSecret secret,
                DriverOptions driver,
                long failAfterPages,
                long failAtNs) {
            this(engine, policy, secret, driver, failAfterPages, failAtNs, Postcopy.OFF);
        }
    }

    /**
     * @param sum        the attempts' statistics added up
     * @param last       the last attempt's
     * @param verdict    the destination's answer (null unless completed)
     * @param violation  invariant 6 broken by a failed attempt, or null
     */
    public record Result(
            EngineStats sum,
            EngineStats last,
            List<RunReport.Attempt> attempts,
            long hopNs,
            Verdict verdict,
            boolean completed,
            String violation,
            RunFold.Figures figures,
            PostcopyStats postcopy) {}

    private HopMigration() {}

    public static Result migrate(
            Settings s,
            KvmGuest source,
            Target target,
            EventSink events,
            Backend.Progress progress,
            String label,
            Consumer<KvmGuest> onMigrating) {
        long session = ThreadLocalRandom.current().nextLong();
        List<RunReport.Attempt> attempts = new ArrayList<>();
        // The hop's statistics are its events' (the engines' own counters are the tests' cross-check).
        RunFold fold = new RunFold(
                source.layout(), source.features().poisonByte(), s.engine().pageHeaderBytes());
        EventSink sink = EventSink.both(events, fold);
        source.drainJournal();
        source.journalTo(sink); // the devices' reports and discards, in line with the engine's events
        EngineStats sum = null;
        EngineStats last = null;
        Verdict verdict = null;
        String violation = null;
        long start = System.nanoTime();
        String failureMessage = null;
        PostcopyStats pcStats = null;
        // the pace SWITCH_OVER states, for invariant 8's bound at the destination: this link's time for a step
        long bps = s.engine().bandwidthBytesPerSec();
        FaultBound pace = FaultBound.of(0, bps > 0 ? 1e9 / bps : 0, s.engine());
        for (int attempt = 0; attempt < s.driver().maxAttempts(); attempt++) {
            long failAtNs = attempt == 0 && s.failAtNs() >= 0 ? s.failAtNs() : -1;
            long failAfter = attempt == 0 ? s.failAfterPages() : -1;
            MigrationPolicy policy = Policies.create(s.policy());
            WireLink link = new WireLink(source, target.connector(), session, s.secret(), failAfter, failAtNs, pace);
            MigrationEngine engine;
            try {
                engine = new MigrationEngine(s.engine(), s.postcopy(), source, link, policy, sink, Clock.SYSTEM);
                drive(engine, source, label, progress, s.driver().maxSteps(), attempt == 0 ? onMigrating : null);
            } finally {
                link.close(); // the verdict is final once the link is closed
            }
            last = fold.migrationStats();
            sum = fold.runStats();
            pcStats = fold.postcopyStats();
            if (last.phase() == Phase.COMPLETED) {
                verdict = link.verdict();
                // the engine waited for COMPLETE_ACK while the destination's guest checked itself: not migration time,
                // not downtime
                // (in postcopy the guest ran on the destination meanwhile: the downtime was the switch-over's)
                boolean paused = !pcStats.switched();
                last = last.withTimeExcluded(verdict.checkMicros() * 1000, paused);
                sum = sum.withTimeExcluded(verdict.checkMicros() * 1000, paused);
            }
            failureMessage = engine.stats().failureMessage();
            String cause = last.failureCause() == null ? null : last.failureCause() + ": " + failureMessage;
            attempts.add(new RunReport.Attempt(
                    last.phase().name().toLowerCase(Locale.ROOT),
                    cause,
                    last.totalNs() / 1e6,
                    last.transferredBytes()));
            if (last.phase() == Phase.COMPLETED) break;
            if (pcStats.switched()) {
                // The guest ran on the destination and its link could not be recovered: it is split between the
                // hosts, and a new migration from the paused source would bring back a stale guest. No retry.
                if (violation == null)
                    violation = Invariant.FAILURE_LOSES_NOTHING.violation(
                            "the postcopy link could not be recovered after the switch-over (" + failureMessage
                                    + "): the guest is split between the source and the destination");
                break;
            }
            if ((!source.running() || !source.dirtyLogging()) && violation == null) {
                violation = Invariant.FAILURE_LOSES_NOTHING.violation(
                        "after the failed attempt the source guest was " + (source.running() ? "running" : "paused")
                                + " with dirty logging " + (source.dirtyLogging() ? "on" : "off"));
            }
            if (attempt + 1 < s.driver().maxAttempts())
                sleepNs(retryDelayNs(attempt + 1)); // the guest runs on, then the migration resumes
        }
        source.drainJournal();
        source.journalTo(events);
        long hopNs = System.nanoTime() - start;
        if (verdict != null) hopNs = Math.max(0, hopNs - verdict.checkMicros() * 1000);
        return new Result(
                sum,
                last,
                attempts,
                hopNs,
                verdict,
                last.phase() == Phase.COMPLETED,
                violation,
                fold.figures(),
                pcStats);
    }

    private static void drive(
            MigrationEngine engine,
            KvmGuest source,
            String label,
            Backend.Progress progress,
            long maxSteps,
            Consumer<KvmGuest> onMigrating) {
        EngineRunner runner = new EngineRunner(
                Clock.SYSTEM,
                EngineRunner.IdleStrategy.parking(Clock.SYSTEM, MAX_PARK_NS),
                maxSteps,
                Long.MAX_VALUE,
                PROGRESS_EVERY_NS);
        runner.run(
                EngineRunner.of(engine),
                new EngineRunner.StepHooks() {
                    private Consumer<KvmGuest> migrating = onMigrating;

                    @Override
                    public void afterStep(long step, int work) {
                        if (migrating != null && engine.phase() != Phase.SETUP) {
                            migrating.accept(source);
                            migrating = null;
                        }
                        if ((step & 63) == 0) {
                            RuntimeException f = source.machine().failure();
                            if (f != null) {
                                engine.cancel();
                                throw new IllegalStateException("the source guest stopped: " + f.getMessage(), f);
                            }
                        }
                    }
                },
                () -> progress.update(
                        engine.phase().name().toLowerCase(Locale.ROOT) + label,
                        engine.iteration(),
                        engine.passProgress(),
                        engine.transferredBytes()),
                label);
    }

    /** The wait after {@code failed} failed attempts (1, 2, ...): 250 ms, 500 ms, 1 s, ..., at most {@link #MAX_RETRY_DELAY_NS}. */
    static long retryDelayNs(int failed) {
        if (failed < 1) throw new IllegalArgumentException("failed=" + failed + " must be >= 1");
        return Math.min(MAX_RETRY_DELAY_NS, RETRY_DELAY_NS << Math.min(failed - 1, 20));
    }

    public static void sleepNs(long ns) {
        long end = System.nanoTime() + ns;
        for (long left = ns; left > 0; left = end - System.nanoTime()) LockSupport.parkNanos(left);
    }
}
