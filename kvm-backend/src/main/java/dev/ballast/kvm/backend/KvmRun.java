package dev.ballast.kvm.backend;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.PostcopyStats;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.DriverOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.RunReports;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import dev.ballast.core.wire.Verdict;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.KvmAvailability;
import dev.ballast.kvm.dest.LocalTarget;
import dev.ballast.kvm.dest.PostcopyPlacer;
import dev.ballast.kvm.dest.PostcopySummary;
import dev.ballast.kvm.device.GuestDevices;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guest.SelfCheck;
import dev.ballast.kvm.guest.WorkloadSettings;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.source.HopMigration;
import dev.ballast.kvm.source.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.LongPredicate;

/**
 * One KVM run of a scenario: a source VM boots the guest program and runs the workload's
 * prologue; the engine migrates it on the wall clock, through the page stream of
 * {@code docs/wire-protocol.md}, to a destination VM in this process (over in-memory pipes) or to
 * a {@code ballast dest} over TCP ({@link BackendOptions.Destination}); the guest resumes there and checks itself,
 * and the destination's verdict decides {@code verify}. A failed attempt (an injected link
 * failure, a lost connection) is retried as a resume: the source keeps running with its dirty
 * log, the destination keeps what it received; in postcopy a link that fails after the switch-over is
 * recovered instead (the guest runs on the destination), in process and over TCP. A chain migrates the guest on from each
 * destination (in this process; across processes, {@code ballast dest --forward} does).
 */
public final class KvmRun {
    /**
     * Ways for tests to break a run on purpose.
     *
     * @param dropPage    page indexes whose data the (in-process) destination loses (null: none)
     * @param onMigrating called once, on the migration thread, when the first migration has left
     *                    its setup (the engine listens to the guest's requests from then on)
     * @param reportDelayUs free page reporting's delay after memory is freed (-1: Linux's 2 s)
     */
    public record Hooks(LongPredicate dropPage, Consumer<KvmGuest> onMigrating, long reportDelayUs) {
        public static final Hooks NONE = new Hooks(null, null);

        public Hooks(LongPredicate dropPage, Consumer<KvmGuest> onMigrating) {
            this(dropPage, onMigrating, -1);
        }

        /** The same hooks with free page reporting's delay shortened (tests: so reports meet a migration); -1 keeps Linux's 2 s. */
        public Hooks withReportDelayUs(long us) {
            return new Hooks(dropPage, onMigrating, us);
        }
    }

    private final Scenario scenario;
    private final RamLayout layout;
    private final EventSink events;
    private final Backend.Progress progress;
    private final Hooks hooks;
    private final BackendOptions.Destination remote;
    private final boolean prealloc;
    private String violation;

    public KvmRun(Scenario scenario, EventSink events, Backend.Progress progress, Hooks hooks) {
        this(scenario, events, progress, hooks, null, false);
    }

    public KvmRun(
            Scenario scenario,
            EventSink events,
            Backend.Progress progress,
            Hooks hooks,
            BackendOptions.Destination remote) {
        this(scenario, events, progress, hooks, remote, false);
    }

    /**
     * @param remote   the destination in another process, or null for one in this process
     * @param prealloc the destination in this process allocates all of its memory before each
     *                 migration starts (as QEMU's {@code -mem-prealloc}); a remote one decides
     *                 that itself ({@code ballast dest --prealloc})
     */
    public KvmRun(
            Scenario scenario,
            EventSink events,
            Backend.Progress progress,
            Hooks hooks,
            BackendOptions.Destination remote,
            boolean prealloc) {
        check(scenario, remote, prealloc);
        this.scenario = scenario;
        this.layout = scenario.layout();
        this.events = events;
        this.progress = progress;
        this.hooks = hooks;
        this.remote = remote;
        this.prealloc = prealloc;
    }

    /**
     * What only the KVM backend refuses, as one {@link SettingException}, before KVM is touched: a
     * size it cannot lay out or hold, options that do not go together, an unknown policy, a
     * workload parameter the guest program cannot take.
     */
    static void check(Scenario scenario, BackendOptions.Destination remote, boolean prealloc) {
        if (!scenario.backend().equals("kvm")) {
            throw new SettingException("backend", scenario.backend(), "KvmRun runs kvm scenarios");
        }
        if (scenario.guestMemBytes() % GuestLayout.HUGE_PAGE != 0) {
            throw new SettingException(
                    "mem", Units.formatBytes(scenario.guestMemBytes()), "the KVM backend needs a multiple of 2M");
        }
        if (scenario.guestMemBytes() > GuestLayout.MAX_GUEST_BYTES) {
            throw new SettingException(
                    "mem", Units.formatBytes(scenario.guestMemBytes()), "the KVM backend runs guests of at most 256G");
        }
        if (remote != null && prealloc) {
            throw new SettingException(
                    "prealloc", null, "with --dest, the destination preallocates (ballast dest --prealloc SIZE)");
        }
        if (remote != null && scenario.chain() != 1) {
            throw new SettingException(
                    "chain",
                    Integer.toString(scenario.chain()),
                    "with --dest, a chain runs across processes (ballast dest --forward)");
        }
        Policies.factory(scenario.policy()); // an unknown policy fails before any VM exists
        WorkloadSettings.of(
                scenario.workload(), scenario.features(), bitmaps(scenario), scenario.layout(), scenario.seed());
    }

    private static boolean bitmaps(Scenario scenario) {
        return scenario.balloonMessages() == BalloonMessages.BITMAP;
    }

    public RunReport run() {
        KvmAvailability.require();
        long wallStart = System.nanoTime();
        GuestFeatures features = scenario.features();
        SplittableRandom faultRandom = new SplittableRandom(scenario.seed()).split();
        long[] wl = WorkloadSettings.of(scenario.workload(), features, bitmaps(scenario), layout, scenario.seed());
        if (hooks.reportDelayUs() >= 0) {
            wl[GuestAbi.WL_REPORT_DELAY_US] = hooks.reportDelayUs();
        }
        List<RunReport> hops = new ArrayList<>();
        try (Kvm kvm = Kvm.open()) {
            progress.update("boot", 0, 0, 0);
            KvmGuest source = KvmGuest.boot(kvm, layout, features, wl);
            source.devices().publishTo(events);
            source.journalTo(events);
            try {
                progress.update("prologue", 0, 0, 0);
                source.call(GuestAbi.OP_PROLOGUE);
                for (int hop = 0; hop < scenario.chain(); hop++) {
                    if (hop > 0) {
                        HopMigration.sleepNs(DriverOptions.DEFAULTS.hopGapNs());
                    }
                    if (scenario.workload().hintRun()) {
                        progress.update("hint run", 0, 0, 0);
                        hostHintRun(source, scenario.engineConfig().firstCommandId(), events);
                    }
                    KvmGuest next;
                    if (prealloc) {
                        progress.update("prealloc", 0, 0, 0);
                    }
                    try (Target target = remote != null
                            ? Target.remote(remote.address(), remote.timeoutNs())
                            : new LocalTarget(kvm, layout, features, hooks.dropPage(), prealloc, events)) {
                        HopMigration.Result h = HopMigration.migrate(
                                settings(hop, faultRandom),
                                source,
                                target,
                                events,
                                progress,
                                hop > 0 ? " (hop " + (hop + 1) + ")" : "",
                                hop == 0 ? hooks.onMigrating() : null);
                        if (h.violation() != null && violation == null) {
                            violation = h.violation();
                        }
                        if (violation == null) {
                            violation = source.devices().discardViolation(); // a discard of the source's host
                        }
                        RunReport.Verify verify = h.completed()
                                ? verify(h.verdict(), target.lastCheck())
                                : new RunReport.Verify(0, 0, violation == null, violation);
                        hops.add(RunReports.hop(
                                scenario,
                                "wall",
                                h.sum(),
                                h.last(),
                                h.hopNs(),
                                verify,
                                h.attempts(),
                                h.figures(),
                                postcopy(h.postcopy(), target, h.verdict())));
                        next = h.completed() ? target.takeGuest() : null;
                    }
                    if (next == null) {
                        break;
                    }
                    source.close(); // its devices stop: the journal gets all they did
                    source.drainJournal();
                    source = next;
                    if (hop + 1 < scenario.chain()) {
                        // the next hop's source (the last destination's own life is not)
                        source.devices().publishTo(events);
                        source.journalTo(events);
                    }
                }
            } finally {
                source.close();
                source.drainJournal();
            }
        }
        double wallMs = (System.nanoTime() - wallStart) / 1e6;
        return RunReports.run(scenario, hops, violation, wallMs);
    }

    /**
     * A host's hint run that has not ended after this long is ended (done) by the host. Linux's driver ends one as
     * soon as an allocation fails; under {@code init-on-alloc} it zeroes every block it takes first, which on this
     * nested host costs up to ~6 µs a page of fresh memory.
     */
    static final long HINT_RUN_CAP_NS = 10_000_000_000L;

    /**
     * {@code hint-run=1}: before a migration the host runs a free page hint run of its own, as Firecracker does before
     * a snapshot ({@code hinting/start} with {@code acknowledge_on_stop}): a new command id; its device reads the
     * guest's hints as they come (and discards them with {@code discard-hinted=1}); once the guest's driver has
     * stopped (its {@code CTL_HINT_STOPPED} names the id) and the device has read every request, the host sends done
     * and the driver gives its blocks back. The guest runs on meanwhile. Journaled as {@code HOST_HINT_RUN}: its
     * duration, the pages its discards released, the guest's allocation stalls while it ran.
     *
     * @return the run's duration in ns
     */
    public static long hostHintRun(KvmGuest guest, long firstId, EventSink events) {
        long last = guest.lastCommandId();
        long id = last < 0 ? firstId : dev.ballast.core.policy.CommandIds.next(last);
        GuestDevices.Stats before = guest.devices().stats();
        long start = System.nanoTime();
        guest.hintCommand(id);
        while (System.nanoTime() - start < HINT_RUN_CAP_NS) {
            if (guest.control(GuestAbi.CTL_HINT_STOPPED_OFF) == id
                    && guest.devices().idle()) {
                break;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
        }
        guest.devices().quiesce(); // every request of the run read, before done
        guest.hintCommand(dev.ballast.core.policy.CommandIds.DONE);
        long end = System.nanoTime();
        GuestDevices.Stats after = guest.devices().stats();
        events.publish(
                EventType.HOST_HINT_RUN,
                end,
                end - start,
                after.hintDiscardedPages() - before.hintDiscardedPages(),
                after.allocStalls() - before.allocStalls());
        return end - start;
    }

    private HopMigration.Settings settings(int hop, SplittableRandom faultRandom) {
        long failAfterPages = -1;
        long failAtNs = -1;
        if (hop == 0 && scenario.failAt() != null) {
            failAfterPages = scenario.failAt().failAfterPages(layout.totalPages(), faultRandom);
            failAtNs = scenario.failAt().failAtNs(System.nanoTime());
        }
        return new HopMigration.Settings(
                scenario.engineConfig(),
                scenario.policy(),
                remote == null ? null : remote.secret(),
                DriverOptions.DEFAULTS,
                failAfterPages,
                failAtNs,
                scenario.postcopy());
    }

    /**
     * A hop's postcopy figures: the engine's (from its events) and the destination's faults and their
     * latency as it measured them (from the fault's arrival to the page's placement): a destination in this
     * process is asked, a {@code ballast dest} sends them in its verdict ({@link PostcopySummary}); null for a
     * hop that did not switch over.
     */
    private static RunReport.Postcopy postcopy(PostcopyStats e, Target target, Verdict verdict) {
        if (e == null || !e.switched()) return null;
        PostcopyPlacer.Figures f = target.postcopyFigures();
        PostcopySummary d = f != null
                ? PostcopySummary.of(f, target.postcopyBalloonZeroFaults())
                : verdict == null ? null : PostcopySummary.parse(verdict.message());
        return new RunReport.Postcopy(
                e.switchOverNs() / 1e6,
                e.bytesBefore(),
                e.bytesAfter(),
                e.requestedPages(),
                e.unservedPages(),
                e.discardedPages(),
                e.balloonBitmapBytes(),
                e.recoveries(),
                // every page faulted on: asked for (FAULT events) or placed as zero there (FAULT_ZERO events)
                d == null ? 0 : d.requests() + d.heldZero() + d.balloonZero(),
                d == null ? 0 : d.heldZero() + d.balloonZero(),
                d == null ? 0 : d.medianNs() / 1e6,
                d == null ? 0 : d.p99Ns() / 1e6,
                d == null ? 0 : d.maxNs() / 1e6,
                d == null ? 0 : d.totalNs() / 1e6);
    }

    /** The destination's verdict: the guest's own check there, every page in use as it last wrote it. */
    private RunReport.Verify verify(Verdict v, SelfCheck local) {
        progress.update("verify", 0, 1, 0);
        if (!v.ok() && violation == null) {
            violation = Invariant.named(v.message()) != null
                    ? v.message()
                    : Invariant.NO_LOST_WRITE.violation("the destination's verdict: " + v.message());
        }
        long first = local != null ? local.firstBadIndex() : -1;
        events.publish(EventType.VERIFY, System.nanoTime(), v.checkedPages(), v.badPages(), first);
        return new RunReport.Verify(v.checkedPages(), v.badPages(), violation == null, violation);
    }
}
