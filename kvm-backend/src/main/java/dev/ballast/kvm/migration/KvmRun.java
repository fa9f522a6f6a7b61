package dev.ballast.kvm.migration;

import dev.ballast.core.engine.Clock;
import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.RunReports;
import dev.ballast.core.run.Scenario;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.KvmAvailability;
import dev.ballast.kvm.guest.GuestAbi;
import dev.ballast.kvm.guest.Reply;
import dev.ballast.kvm.mem.GuestLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongPredicate;

/**
 * One KVM run of a scenario: a source VM boots the guest program and runs the workload's
 * prologue; the engine migrates it on the wall clock to a destination VM in this process; the
 * guest resumes there and checks itself, which decides {@code verify}. A failed attempt (an
 * injected link failure) is retried as a resume: the source keeps running with its dirty log,
 * the destination keeps what it received. A chain migrates the guest on from each destination.
 */
public final class KvmRun {
    static final long RETRY_DELAY_NS = 100_000_000L;
    static final long HOP_GAP_NS = 200_000_000L;
    static final int MAX_ATTEMPTS = 4;
    static final String[] INVARIANTS = {
        "", "no lost write", "poison preserved", "no needless resend", "hints are never stale",
        "every writer is tracked", "failure loses nothing", "nothing from the wire is trusted",
    };

    /**
     * Ways for tests to break a run on purpose.
     *
     * @param dropPage    page indexes whose data the destination loses (null: none)
     * @param onMigrating called once, on the migration thread, when the first migration has left
     *                    its setup (the engine listens to the guest's requests from then on)
     */
    public record Hooks(LongPredicate dropPage, java.util.function.Consumer<KvmGuest> onMigrating) {
        public static final Hooks NONE = new Hooks(null, null);
    }

    private final Scenario scenario;
    private final RamLayout layout;
    private final EventSink events;
    private final Backend.Progress progress;
    private final Hooks hooks;
    private String violation;

    public KvmRun(Scenario scenario, EventSink events, Backend.Progress progress, Hooks hooks) {
        if (!scenario.backend().equals("kvm")) {
            throw new IllegalArgumentException("backend=" + scenario.backend() + ": KvmRun runs kvm scenarios");
        }
        if (scenario.guestMemBytes() % GuestLayout.HUGE_PAGE != 0) {
            throw new IllegalArgumentException("mem=" + scenario.guestMemBytes() + ": the KVM backend needs a multiple of 2M");
        }
        if (scenario.guestMemBytes() > 256L << 30) {
            throw new IllegalArgumentException("mem=" + scenario.guestMemBytes() + ": the KVM backend runs guests of at most 256G");
        }
        Policies.factory(scenario.policy()); // an unknown policy fails before any VM exists
        this.scenario = scenario;
        this.layout = scenario.layout();
        this.events = events;
        this.progress = progress;
        this.hooks = hooks;
        // settings are checked before KVM is touched, too
        WorkloadSettings.of(scenario.workload(), scenario.features(), bitmaps(), layout, scenario.seed());
    }

    private boolean bitmaps() {
        return scenario.balloonMessages().equals("bitmap");
    }

    /** Throws one clear {@link IllegalStateException} where KVM cannot run. */
    static void requireKvm() {
        KvmAvailability a = KvmAvailability.check();
        if (!a.usable()) {
            throw new IllegalStateException("the kvm backend cannot run here: " + a.reason());
        }
    }

    public RunReport run() {
        requireKvm();
        long wallStart = System.nanoTime();
        GuestFeatures features = scenario.features();
        SplittableRandom faultRandom = new SplittableRandom(scenario.seed()).split();
        long[] wl = WorkloadSettings.of(scenario.workload(), features, bitmaps(), layout, scenario.seed());
        List<RunReport> hops = new ArrayList<>();
        try (Kvm kvm = Kvm.open()) {
            progress.update("boot", 0, 0, 0);
            KvmGuest source = KvmGuest.boot(kvm, layout, features, wl);
            try {
                progress.update("prologue", 0, 0, 0);
                source.call(GuestAbi.OP_PROLOGUE);
                for (int hop = 0; hop < scenario.chain(); hop++) {
                    if (hop > 0) {
                        sleepNs(HOP_GAP_NS);
                    }
                    KvmGuest dest = KvmGuest.incoming(kvm, layout, features);
                    Hop h;
                    try {
                        h = migrateOnce(kvm, source, dest, hop, faultRandom);
                    } catch (RuntimeException e) {
                        dest.close();
                        throw e;
                    }
                    hops.add(h.report);
                    if (!h.completed) {
                        dest.close();
                        break;
                    }
                    source.close();
                    source = dest;
                }
            } finally {
                source.close();
            }
        }
        double wallMs = (System.nanoTime() - wallStart) / 1e6;
        return RunReports.run(scenario, hops, violation, wallMs);
    }

    private record Hop(RunReport report, boolean completed) { }

    private Hop migrateOnce(Kvm kvm, KvmGuest source, KvmGuest dest, int hop, SplittableRandom faultRandom) {
        EngineConfig cfg = scenario.engineConfig();
        PageInstaller installer = new PageInstaller(dest, hooks.dropPage() == null ? i -> false : hooks.dropPage());
        List<RunReport.Attempt> attempts = new ArrayList<>();
        EngineStats sum = null;
        EngineStats last = null;
        long hopStart = System.nanoTime();
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            long failAfterPages = -1;
            long failAtNs = -1;
            if (attempt == 0 && hop == 0 && scenario.failAt() != null) {
                FailPoint fp = FailPoint.parse(scenario.failAt());
                if (fp.random()) {
                    failAfterPages = (long) (layout.totalPages() * (0.05 + 0.9 * faultRandom.nextDouble()));
                } else if (fp.fractionOfPages() >= 0) {
                    failAfterPages = (long) (layout.totalPages() * fp.fractionOfPages());
                } else {
                    failAtNs = System.nanoTime() + fp.atNs();
                }
            }
            LocalPageLink link = new LocalPageLink(source, installer, failAfterPages, failAtNs);
            MigrationPolicy policy = Policies.create(scenario.policy());
            MigrationEngine engine = new MigrationEngine(cfg, source, link, policy, events, Clock.SYSTEM);
            drive(engine, source, hop, attempt == 0 && hop == 0 ? hooks.onMigrating() : null);
            last = engine.stats();
            sum = sum == null ? last : RunReports.add(sum, last);
            attempts.add(new RunReport.Attempt(last.phase().name().toLowerCase(Locale.ROOT), last.failureMessage(),
                    last.totalNs() / 1e6, last.transferredBytes()));
            if (last.phase() == Phase.COMPLETED) {
                break;
            }
            if (!source.running() || !source.dirtyLogging()) {
                record(6, "after the failed attempt the source guest was " + (source.running() ? "running" : "paused")
                        + " with dirty logging " + (source.dirtyLogging() ? "on" : "off"));
            }
            sleepNs(RETRY_DELAY_NS); // the guest runs on, then the migration resumes
        }
        long hopNs = System.nanoTime() - hopStart;
        boolean completed = last.phase() == Phase.COMPLETED;
        RunReport.Verify verify = completed ? selfCheck(dest) : new RunReport.Verify(0, 0, violation == null, violation);
        return new Hop(RunReports.hop(scenario, "wall", sum, last, hopNs, verify, attempts), completed);
    }

    private void drive(MigrationEngine engine, KvmGuest source, int hop, java.util.function.Consumer<KvmGuest> onMigrating) {
        long lastProgress = 0;
        long steps = 0;
        while (!engine.phase().isTerminal()) {
            int work = engine.doWork();
            if (onMigrating != null && engine.phase() != Phase.SETUP) {
                onMigrating.accept(source);
                onMigrating = null;
            }
            if (work == 0) {
                long wait = engine.wakeAtNs() - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(Math.min(wait, 10_000_000L));
                }
            }
            if ((++steps & 63) == 0) {
                RuntimeException f = source.machine().failure();
                if (f != null) {
                    engine.cancel();
                    throw new IllegalStateException("the source guest stopped: " + f.getMessage(), f);
                }
            }
            long now = System.nanoTime();
            if (now - lastProgress > 50_000_000L) {
                lastProgress = now;
                progress.update(engine.phase().name().toLowerCase(Locale.ROOT) + (hop > 0 ? " (hop " + (hop + 1) + ")" : ""),
                        engine.iteration(), engine.passProgress(), engine.transferredBytes());
            }
        }
    }

    /** The guest's own check on the destination: every page in use holds what it last wrote, free pages hold poison. */
    private RunReport.Verify selfCheck(KvmGuest dest) {
        progress.update("verify", 0, 1, 0);
        Reply c = dest.call(GuestAbi.OP_SELF_CHECK);
        long checked = c.arg(0);
        long bad = c.arg(1);
        long firstIndex = -1;
        if (bad > 0) {
            long pfn = c.arg(2);
            firstIndex = layout.indexOfPfn(pfn);
            String page = firstIndex >= 0 ? layout.describeIndex(firstIndex) : "PFN 0x" + Long.toHexString(pfn);
            int kind = (int) c.arg(3);
            switch (kind) {
                case GuestAbi.CHECK_POISON -> record(2, "free page " + page + " does not read as the poison value 0x"
                        + Integer.toHexString(scenario.poisonByte()) + " on the destination (" + bad + " pages bad)");
                case GuestAbi.CHECK_USED -> record(5, "page " + page + ", which the host's devices write, is older on the"
                        + " destination than what the guest saw on the source (" + bad + " pages bad)");
                default -> record(1, "page " + page + " does not hold what the guest last wrote on the destination ("
                        + bad + " pages bad)");
            }
        }
        events.publish(EventType.VERIFY, System.nanoTime(), checked, bad, firstIndex);
        return new RunReport.Verify(checked, bad, violation == null, violation);
    }

    private void record(int invariant, String what) {
        if (violation == null) {
            violation = "invariant " + invariant + " (" + INVARIANTS[invariant] + "): " + what;
        }
    }

    private static void sleepNs(long ns) {
        long end = System.nanoTime() + ns;
        for (long left = ns; left > 0; left = end - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }
}
