package dev.ballast.properties;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.run.RunManifest;
import dev.ballast.replay.Replay;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.Assumptions;

/**
 * A smaller set of the same properties against the KVM backend: a real guest (16 to 64 MiB)
 * migrated in process from one VM to another, checked by the guest itself on the destination.
 * Tries sized in {@link Budget} so that a failure in 2 % of migrations is found in nearly every CI run;
 * a case that ever failed stays as a pinned example below (jqwik's example database is not kept
 * across CI runs). Skipped, with the reason, where /dev/kvm is not usable.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class KvmProperties {
    @BeforeContainer
    static void start() {
        if (!KvmRunner.usable()) System.out.println("[properties] KVM properties skipped: " + KvmRunner.whyNot());
    }

    private static void assumeKvm() {
        Assumptions.assumeTrue(KvmRunner.usable(), () -> "KVM not usable: " + KvmRunner.whyNot());
    }

    @Provide
    Arbitrary<KvmCase> kvmCases() {
        return cases(Arbitraries.just((String) null), Arbitraries.just(1));
    }

    @Provide
    Arbitrary<KvmCase> kvmFaults() {
        return cases(
                Arbitraries.oneOf(
                        Arbitraries.integers()
                                .between(10, 250)
                                .map(p -> p <= 100 ? p + "%" : java.math.BigDecimal.valueOf(p, 2) + "x"),
                        Arbitraries.integers().between(5, 60).map(ms -> ms + "ms")),
                Arbitraries.integers().between(1, 2));
    }

    /**
     * Guests that take pages back from their balloon right behind an inflate, while they migrate,
     * under every combination of the guest's balloon options: poisoning (every page present, so
     * the host's madvise of an inflate is slow), MUST_TELL_HOST on and off, PFN arrays and bitmaps,
     * and every policy. The general generator draws these races too, but rarely this tight: it
     * found issue 17's lost write in about 1 of 590 migrations, this one in 1 of 10.
     */
    @Provide
    Arbitrary<KvmCase> kvmBalloonRaces() {
        Arbitrary<String> race = Combinators.combine(
                        Arbitraries.integers().between(5, 30),
                        Arbitraries.integers().between(1, 16),
                        Arbitraries.integers().between(1, 3),
                        Arbitraries.integers().between(1, 60),
                        Arbitraries.integers().between(5, 50),
                        Arbitraries.integers().between(0, 16))
                .as((p, step, every, late, u, r) -> "deflate-race:" + p + ",step=" + step + "M,every=" + every
                        + "ms,late=" + late + "ms,used=" + u + "%,rate=" + r + "MiB/s");
        return Combinators.combine(
                        Arbitraries.of(48, 64),
                        withReporting(race),
                        Arbitraries.of(dev.ballast.kvm.backend.KvmBackend.POLICIES),
                        Arbitraries.frequencyOf(
                                Tuple.of(1, Arbitraries.just(0)),
                                Tuple.of(3, Arbitraries.integers().between(1, 255))),
                        Arbitraries.of(true, false),
                        Arbitraries.of("pfn", "bitmap"),
                        Arbitraries.longs())
                .as((mem, w, p, poison, tell, msgs, seed) -> new KvmCase(
                        mem,
                        reporting(w, poison),
                        p,
                        poison,
                        tell,
                        msgs,
                        CommandIds.MIN,
                        null,
                        1,
                        seed,
                        w.get3(),
                        null));
    }

    private static Arbitrary<KvmCase> cases(Arbitrary<String> failAt, Arbitrary<Integer> chain) {
        return Combinators.combine(
                        Arbitraries.of(16, 32, 48, 64),
                        withReporting(withKernel(Arbitraries.oneOf(
                                idle(), memhog(), compile(), randomWrite(), ballooned(), deflateRace()))),
                        Arbitraries.of(dev.ballast.kvm.backend.KvmBackend.POLICIES),
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(0)),
                                Tuple.of(1, Arbitraries.integers().between(1, 255))),
                        Arbitraries.of(true, false),
                        Arbitraries.of("pfn", "bitmap"),
                        Arbitraries.frequencyOf(
                                Tuple.of(1, Arbitraries.just(CommandIds.MIN)),
                                Tuple.of(1, Arbitraries.longs().between(0, 4).map(k -> CommandIds.MAX - k))),
                        Combinators.combine(failAt, chain, Arbitraries.longs()).as(Tuple::of))
                .as((mem, w, p, poison, tell, msgs, id, f) -> new KvmCase(
                        mem,
                        reporting(w, poison),
                        p,
                        poison,
                        tell,
                        msgs,
                        id,
                        f.get1(),
                        f.get2(),
                        f.get3(),
                        w.get3(),
                        null));
    }

    /**
     * The workload, in one case of three with the guest kernel's keys the KVM guest runs: its hint driver (Linux's or
     * the idealised one), zeroing on allocation, memory pressure (then with {@link Generators#SHRINKING_DRIVER}, the
     * acknowledged shrinker unless {@code -Dballast.hintDriver=linux}: the shipped one loses writes by design,
     * docs/findings.md, finding 1), DEFLATE_ON_OOM, a host's hint run before each migration and the host's discards of
     * hinted pages (Firecracker's use), each alone or both.
     */
    static Arbitrary<String> withKernel(Arbitrary<String> workload) {
        Arbitrary<String> keys = Combinators.combine(
                        Arbitraries.of("ideal", "linux"),
                        Arbitraries.of(false, true),
                        Arbitraries.of(0, 30, 60),
                        Arbitraries.of(false, true),
                        Arbitraries.of("", ",hint-run=1", ",discard-hinted=1", ",hint-run=1,discard-hinted=1"))
                .as((driver, zero, pressure, oom, host) -> ",hint-driver="
                        + (pressure > 0 && !driver.equals("ideal") ? Generators.SHRINKING_DRIVER : driver)
                        + (zero ? ",init-on-alloc=1" : "")
                        + (pressure > 0 ? ",pressure=" + pressure + "%" : "")
                        + (oom ? ",deflate-on-oom=1" : "")
                        + host);
        return Combinators.combine(
                        workload, Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just("")), Tuple.of(1, keys)))
                .as((w, k) -> w + k);
    }

    /**
     * A workload, in one case of three with free page reporting: (the workload, {@code ,reporting=1} or nothing, the
     * report delay in ms or -1). The delay is 0 to 30 ms instead of Linux's 2 s, so that reports, the host's
     * discards and the guest taking the blocks back meet every stage of these short migrations.
     */
    static Arbitrary<Tuple.Tuple3<String, Boolean, Integer>> withReporting(Arbitrary<String> workload) {
        return Combinators.combine(
                        workload,
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(-1)),
                                Tuple.of(1, Arbitraries.integers().between(0, 30))),
                        Arbitraries.of(false, true))
                .as((w, delay, discardPoisoned) -> Tuple.of(w, discardPoisoned, delay));
    }

    /**
     * The workload with reporting added when drawn; {@code discard-poisoned=1} only for guests that do not poison
     * (where the host discards anyway): with a poison value the host then breaks invariant 2 by design
     * ({@code KvmMigrationTest} shows it), which is not what these properties look for.
     */
    static String reporting(Tuple.Tuple3<String, Boolean, Integer> w, int poison) {
        if (w.get3() < 0) return w.get1();
        return w.get1() + ",reporting=1" + (w.get2() && poison == 0 ? ",discard-poisoned=1" : "");
    }

    /**
     * Postcopy into the KVM destination: after pass 1, pass 2 or once pre-copy is not converging, the guest resumes on
     * the destination with its missing pages registered with userfaultfd and faults them in. Every policy, every
     * workload with the guest kernel's keys and free page reporting as {@link #kvmCases} draws them (16 to 32 MiB), but writing at
     * least {@value #POSTCOPY_MIN_RATE_MIB} MiB/s (a guest that writes less meets even the 100 us limit more often and completes
     * without switching over); a link failure before the switch-over (within pass 1, or as it ends: the retry
     * resumes), after it (the destination's guest runs on and the link is recovered), at a time that falls anywhere,
     * or none; one migration or a chain of two (each hop switches
     * over on its own). The switch after pass 1 is drawn in three cases of five: auto and pass 2 converge more often (a
     * short pass may see no write of a bursty guest).
     */
    @Provide
    Arbitrary<KvmCase> kvmPostcopyCases() {
        return postcopyCases(false);
    }

    /** The same with free page hinting allowed with postcopy ({@code --postcopy-hints}, which QEMU refuses). */
    @Provide
    Arbitrary<KvmCase> kvmPostcopyHintCases() {
        return postcopyCases(true);
    }

    /** The least write rate of a postcopy case's guest. */
    static final int POSTCOPY_MIN_RATE_MIB = 64;

    private static final java.util.regex.Pattern RATE = java.util.regex.Pattern.compile(",rate=(\\d+)MiB/s");

    /** The workload with its write rate raised to {@code min} MiB/s where it is lower. */
    static String writingAtLeast(String workload, int min) {
        java.util.regex.Matcher m = RATE.matcher(workload);
        if (!m.find()) return workload;
        int r = Math.max(min, Integer.parseInt(m.group(1)));
        return workload.substring(0, m.start()) + ",rate=" + r + "MiB/s" + workload.substring(m.end());
    }

    /**
     * Where the link fails in a postcopy case: nowhere (half the cases); within pass 1 (before the switch-over); after
     * one guest's worth of pages (1x: at the end of pass 1 under a policy that skips nothing, before the switch-over is
     * decided; later under one that skips); a few pages to 5 % into postcopy (1.0001x to 1.05x); or at a time since the
     * attempt started (5 to 400 ms: before, during or after the switch-over, as it falls). A failure counted in pages
     * cannot fall inside the switch-over (no page is sent between its decision and its SWITCH_OVER):
     * {@code KvmWirePostcopyProperties} cuts the connection there.
     */
    static Arbitrary<String> postcopyFailures() {
        return Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.just((String) null)),
                Tuple.of(1, Arbitraries.integers().between(10, 90).map(p -> p + "%")),
                Tuple.of(1, Arbitraries.just("1x")),
                Tuple.of(
                        2,
                        Arbitraries.integers()
                                .between(1, 500)
                                .map(k -> java.math.BigDecimal.valueOf(10000 + k, 4) + "x")),
                Tuple.of(1, Arbitraries.integers().between(5, 400).map(ms -> ms + "ms")));
    }

    private static Arbitrary<KvmCase> postcopyCases(boolean hints) {
        return Combinators.combine(
                        Arbitraries.of(16, 24, 32),
                        withReporting(withKernel(Arbitraries.oneOf(
                                        idle(), memhog(), compile(), randomWrite(), ballooned(), deflateRace()))
                                .map(w -> writingAtLeast(w, POSTCOPY_MIN_RATE_MIB))),
                        Arbitraries.of(dev.ballast.kvm.backend.KvmBackend.POLICIES),
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(0)),
                                Tuple.of(1, Arbitraries.integers().between(1, 255))),
                        Arbitraries.of(true, false),
                        Arbitraries.of("pfn", "bitmap"),
                        Arbitraries.frequencyOf(
                                Tuple.of(1, Arbitraries.just(CommandIds.MIN)),
                                Tuple.of(1, Arbitraries.longs().between(0, 4).map(k -> CommandIds.MAX - k))),
                        Combinators.combine(
                                        postcopyFailures(),
                                        Arbitraries.frequencyOf(
                                                Tuple.of(3, Arbitraries.just(1)), Tuple.of(1, Arbitraries.just(2))),
                                        Arbitraries.frequencyOf(
                                                Tuple.of(3, Arbitraries.just("1")),
                                                Tuple.of(1, Arbitraries.just("2")),
                                                Tuple.of(1, Arbitraries.just("auto"))),
                                        Arbitraries.longs())
                                .as(Tuple::of))
                .as((mem, w, p, poison, tell, msgs, id, f) -> {
                    KvmCase k = new KvmCase(
                                    mem,
                                    reporting(w, poison),
                                    p,
                                    poison,
                                    tell,
                                    msgs,
                                    id,
                                    f.get1(),
                                    f.get2(),
                                    f.get4(),
                                    w.get3(),
                                    null)
                            .withPostcopy(f.get3());
                    return hints ? k.withPostcopyHints() : k;
                });
    }

    /**
     * How a postcopy case went, for jqwik's statistics: whether it switched over (a chain: any hop) and what its link
     * failure did (a failed first attempt: before the switch-over; a recovery: after it).
     */
    static void collectPostcopy(KvmCase k, dev.ballast.core.run.RunReport r) {
        java.util.List<dev.ballast.core.run.RunReport> hops = r.hops().isEmpty() ? java.util.List.of(r) : r.hops();
        long switched = hops.stream().filter(h -> h.postcopy() != null).count();
        String how = switched == 0 ? "converged first" : switched == hops.size() ? "switched" : "switched in some hops";
        net.jqwik.api.statistics.Statistics.label("switched over").collect(how);
        net.jqwik.api.statistics.Statistics.label("switched over, by --postcopy-after")
                .collect(k.postcopy() + ": " + how);
        String failure;
        if (k.failAt() == null) failure = "none drawn";
        else if (hops.stream()
                .anyMatch(h -> h.postcopy() != null && h.postcopy().recoveries() > 0)) failure = "after: recovered";
        else if (r.attempts().stream().anyMatch(a -> !a.outcome().equals("completed"))) failure = "before: retried";
        else failure = "never reached";
        net.jqwik.api.statistics.Statistics.label("link failure").collect(failure);
    }

    /**
     * Every invariant the guest checks after a postcopy migration, invariant 8 among them (every fault served within
     * {@code FaultBound}; the destination fails its verdict with the page otherwise). A drawn guest whose pre-copy
     * meets even the 100 us limit completes without switching over, which is not a failure; jqwik's statistics print
     * the share that switched.
     */
    @Property(tries = Budget.KVM_POSTCOPY, shrinking = ShrinkingMode.OFF)
    void aKvmPostcopyMigrationKeepsEveryInvariant(@ForAll("kvmPostcopyCases") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        collectPostcopy(k, o.report());
        assertKeepsEveryInvariant(k, o);
    }

    /**
     * Free page hinting allowed with postcopy ({@code --postcopy-hints}; QEMU does not start hinting while postcopy is
     * on): a page hinted free is neither sent nor dirty, so when the destination's guest takes it back it faults and
     * the source has nothing to send. The simulator's {@code PostcopyProperties.hintsWithPostcopyBreakOnlyLiveness}
     * finds that its fault is never served; here too the only invariant such a run may break is 8 (its destination
     * names the page), and it must still end: nothing lost, nothing placed twice, no hung test.
     */
    @Property(tries = Budget.KVM_POSTCOPY_HINTS, shrinking = ShrinkingMode.OFF)
    void aKvmPostcopyMigrationWithHintsBreaksOnlyLiveness(@ForAll("kvmPostcopyHintCases") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        collectPostcopy(k, o.report());
        net.jqwik.api.statistics.Statistics.label("invariant 8").collect(o.violation() == null ? "kept" : "broken");
        assertOnlyLivenessBroken(k, o);
    }

    /**
     * Where a run's first link failure fell, from its events: before the switch-over was decided, between its decision
     * ({@code POSTCOPY_START}: the guest is paused at the next step, the final sync, the discards, the device state)
     * and its end ({@code SWITCH_OVER}), or after it.
     */
    private static String whenTheLinkFailed(JournalProperties.Recording rec) {
        boolean decided = false;
        boolean switched = false;
        for (long[] e : rec.events) {
            dev.ballast.core.event.EventType t = dev.ballast.core.event.EventType.byId((int) e[0]);
            if (t == dev.ballast.core.event.EventType.POSTCOPY_START) decided = true;
            else if (t == dev.ballast.core.event.EventType.SWITCH_OVER) switched = true;
            else if (t == dev.ballast.core.event.EventType.LINK_FAILED)
                return switched
                        ? "after the switch-over"
                        : decided ? "during the switch-over" : "before the switch-over";
        }
        return "no failure";
    }

    /**
     * Pinned: the first case {@link #aKvmPostcopyMigrationWithHintsBreaksOnlyLiveness} found. Pass 1 skipped the
     * 2048 pages the guest hinted free; they were never sent, the guest never took them back, and the destination
     * failed its verdict as "invariant 1 (no lost write): 2048 pages never arrived in postcopy" without letting the
     * guest check itself (the simulator finds such a run clean). The destination now places them as zero at COMPLETE
     * and the guest's own check decides (kvm-backend's
     * {@code KvmPostcopyTest.shouldLetTheGuestCheckItselfWhenHintedPagesWereNeverSentInPostcopy}).
     */
    @Example
    void theHintedPagesNeverSentInPostcopyAreNoLostWrite() {
        assumeKvm();
        KvmCase k = new KvmCase(
                        24,
                        "deflate-race:77,step=14M,every=41ms,late=38ms,used=16%,rate=64MiB/s,hint-driver=ideal,"
                                + "hint-run=1,discard-hinted=1",
                        "hint+balloon",
                        0,
                        false,
                        "pfn",
                        CommandIds.MIN,
                        null,
                        1,
                        -10934,
                        -1,
                        "1")
                .withPostcopyHints();
        for (int run = 0; run < 2; run++) {
            KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
            assertThat(o.report().pages().skippedFree())
                    .as("pages hinted free and skipped")
                    .isPositive();
            assertOnlyLivenessBroken(k, o);
        }
    }

    private static void assertOnlyLivenessBroken(KvmCase k, KvmRunner.Outcome o) {
        if (o.violation() != null)
            assertThat(dev.ballast.core.invariant.Invariant.named(o.violation()))
                    .as("%s: %s", k.command(), o.violation())
                    .isEqualTo(dev.ballast.core.invariant.Invariant.FAULTS_SERVED);
        assertThat(o.completed()).as("%s", k.command()).isTrue();
    }

    /**
     * The journal of a postcopy KVM run replays decision for decision with no guest: the switch-over where the engine
     * made it, its discards, the page requests it served, a recovery after a link failure, each hop of a chain. The
     * destination's faults are in the journal as information, not input. Its runs are checked like
     * {@link #aKvmPostcopyMigrationKeepsEveryInvariant}'s (invariant 8 among them), so its tries count there too.
     */
    @Property(tries = Budget.KVM_POSTCOPY_REPLAY, shrinking = ShrinkingMode.OFF)
    void aKvmPostcopyRunReplaysFromItsEvents(@ForAll("kvmPostcopyCases") KvmCase k) {
        assumeKvm();
        JournalProperties.Recording rec = new JournalProperties.Recording();
        KvmRunner.Outcome o = runRecorded(k, rec);
        collectPostcopy(k, o.report());
        net.jqwik.api.statistics.Statistics.label("link failed, by its events").collect(whenTheLinkFailed(rec));
        assertKeepsEveryInvariant(k, o);
        assertReplays(k, o, rec);
    }

    /** Every invariant the guest can check on the destination (no lost write, poison preserved, host writes tracked). */
    @Property(tries = Budget.KVM_INVARIANTS, shrinking = ShrinkingMode.OFF)
    void aKvmMigrationKeepsEveryInvariant(@ForAll("kvmCases") KvmCase k) {
        assumeKvm();
        assertKeepsEveryInvariant(k, KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE));
    }

    private static void assertKeepsEveryInvariant(KvmCase k, KvmRunner.Outcome o) {
        assertThat(o.violation()).as("%s", k.command()).isNull();
        assertThat(o.completed()).as("%s", k.command()).isTrue();
        assertThat(o.report().verify().checkedPages()).isPositive();
    }

    /** Every invariant, for guests whose balloon deflates right behind its inflate (see {@link #kvmBalloonRaces}). */
    @Property(tries = Budget.KVM_RACES, shrinking = ShrinkingMode.OFF)
    void aKvmBalloonRaceKeepsEveryInvariant(@ForAll("kvmBalloonRaces") KvmCase k) {
        assumeKvm();
        assertKeepsEveryInvariant(k, KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE));
    }

    /**
     * Pinned: issue 17's lost write, which this property found in about one CI run in five and CI
     * then passed by luck. A poisoning guest without MUST_TELL_HOST deflated and wrote pages whose
     * inflate the host had not acted on yet; the host's madvise then discarded the writes. It
     * failed every run, under every policy.
     */
    @Example
    void theDeflatedPagesOfIssue17KeepTheirWrites() {
        assumeKvm();
        for (String policy : dev.ballast.kvm.backend.KvmBackend.POLICIES) {
            KvmCase k = new KvmCase(
                    64,
                    "deflate-race:11,step=2M,every=2ms,late=2ms,used=10%,rate=0MiB/s",
                    policy,
                    0x1,
                    false,
                    "bitmap",
                    CommandIds.MIN,
                    null,
                    1,
                    661);
            assertKeepsEveryInvariant(k, KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE));
        }
    }

    /**
     * Pinned: {@code balloon-zero}'s lost write, which this property found in its first run once the policy ran on
     * KVM. The guest deflated pages (MUST_TELL_HOST, answered at once by the device) and wrote them while an engine
     * step that began before the deflate walked them as still ballooned: their zero records re-armed the dirty
     * tracking and cleared the writes' bits. It lost 1,000 to 2,500 pages in 8 runs of 10.
     */
    @Example
    void theDeflatedPagesBalloonZeroSentAsZeroKeepTheirWrites() {
        assumeKvm();
        KvmCase k = new KvmCase(
                48,
                "deflate-race:13,step=4M,every=1ms,late=25ms,used=45%,rate=9MiB/s",
                "balloon-zero",
                0,
                true,
                "pfn",
                CommandIds.MIN,
                null,
                1,
                7788513);
        for (int run = 0; run < 3; run++) {
            assertKeepsEveryInvariant(k, KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE));
        }
    }

    /** A link failure, then the retry, and a chain: the guest on the last destination finds every page it wrote. */
    @Property(tries = Budget.KVM_FAULTS, shrinking = ShrinkingMode.OFF)
    void aFailedOrChainedKvmMigrationLosesNothing(@ForAll("kvmFaults") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        assertThat(o.violation()).as("%s", k.command()).isNull();
        assertThat(o.completed()).as("%s", k.command()).isTrue();
    }

    /**
     * The journal of a KVM run (wall clock, a real guest) replays decision for decision, with no
     * guest at all. Its runs are checked like {@link #aKvmMigrationKeepsEveryInvariant}'s, so its
     * tries count toward finding a rare failure too.
     */
    @Property(tries = Budget.KVM_REPLAY, shrinking = ShrinkingMode.OFF)
    void aKvmRunReplaysFromItsEvents(@ForAll("kvmCases") KvmCase k) {
        assumeKvm();
        JournalProperties.Recording rec = new JournalProperties.Recording();
        KvmRunner.Outcome o = runRecorded(k, rec);
        assertKeepsEveryInvariant(k, o);
        assertReplays(k, o, rec);
    }

    /** Runs {@code k} with its events recorded in {@code rec} (the VMM's threads publish them concurrently). */
    private static KvmRunner.Outcome runRecorded(KvmCase k, JournalProperties.Recording rec) {
        return KvmRunner.run(k, (type, timeNs, a, b, c) -> {
            synchronized (rec) {
                rec.publish(type, timeNs, a, b, c);
            }
        });
    }

    /** The recorded events replay with no guest, decision for decision, every event and every migration. */
    private static void assertReplays(KvmCase k, KvmRunner.Outcome o, JournalProperties.Recording rec) {
        Replay.Result r = Replay.run(RunManifest.of(k.scenario()), rec.stream());
        assertThat(r.divergence()).as("%s", k.command()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations())
                .as("%s", k.command())
                .isEqualTo(o.report().attempts().size());
    }
}
