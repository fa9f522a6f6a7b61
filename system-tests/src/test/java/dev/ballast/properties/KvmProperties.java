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
     * docs/findings.md, finding 1), DEFLATE_ON_OOM and a host's hint run before each migration.
     */
    private static Arbitrary<String> withKernel(Arbitrary<String> workload) {
        Arbitrary<String> keys = Combinators.combine(
                        Arbitraries.of("ideal", "linux"),
                        Arbitraries.of(false, true),
                        Arbitraries.of(0, 30, 60),
                        Arbitraries.of(false, true),
                        Arbitraries.of(false, true))
                .as((driver, zero, pressure, oom, run) -> ",hint-driver="
                        + (pressure > 0 && !driver.equals("ideal") ? Generators.SHRINKING_DRIVER : driver)
                        + (zero ? ",init-on-alloc=1" : "")
                        + (pressure > 0 ? ",pressure=" + pressure + "%" : "")
                        + (oom ? ",deflate-on-oom=1" : "")
                        + (run ? ",hint-run=1,discard-hinted=1" : ""));
        return Combinators.combine(
                        workload, Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just("")), Tuple.of(1, keys)))
                .as((w, k) -> w + k);
    }

    /**
     * A workload, in one case of three with free page reporting: (the workload, {@code ,reporting=1} or nothing, the
     * report delay in ms or -1). The delay is 0 to 30 ms instead of Linux's 2 s, so that reports, the host's
     * discards and the guest taking the blocks back meet every stage of these short migrations.
     */
    private static Arbitrary<Tuple.Tuple3<String, Boolean, Integer>> withReporting(Arbitrary<String> workload) {
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
    private static String reporting(Tuple.Tuple3<String, Boolean, Integer> w, int poison) {
        if (w.get3() < 0) return w.get1();
        return w.get1() + ",reporting=1" + (w.get2() && poison == 0 ? ",discard-poisoned=1" : "");
    }

    /**
     * Postcopy into the KVM destination: after pass 1, pass 2 or once pre-copy is not converging,
     * the guest resumes on the destination with its missing pages registered with userfaultfd and
     * faults them in; every policy, every workload.
     */
    @Provide
    Arbitrary<KvmCase> kvmPostcopyCases() {
        return Combinators.combine(kvmCases(), Arbitraries.of("1", "2", "auto")).as(KvmCase::withPostcopy);
    }

    /**
     * Every invariant the guest checks, after a postcopy migration (a drawn guest whose pre-copy meets
     * even the 1 ms limit completes without switching over, which is not a failure).
     */
    @Property(tries = Budget.KVM_POSTCOPY, shrinking = ShrinkingMode.OFF)
    void aKvmPostcopyMigrationKeepsEveryInvariant(@ForAll("kvmPostcopyCases") KvmCase k) {
        assumeKvm();
        KvmRunner.Outcome o = KvmRunner.run(k, dev.ballast.core.event.EventSink.NONE);
        net.jqwik.api.statistics.Statistics.label("switched over")
                .collect(o.report().postcopy() != null ? "switched" : "converged first");
        assertKeepsEveryInvariant(k, o);
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
        KvmRunner.Outcome o = KvmRunner.run(k, (type, timeNs, a, b, c) -> {
            synchronized (rec) {
                rec.publish(type, timeNs, a, b, c);
            }
        });
        assertKeepsEveryInvariant(k, o);
        Replay.Result r = Replay.run(RunManifest.of(k.scenario()), rec.stream());
        assertThat(r.divergence()).as("%s", k.command()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations()).isEqualTo(o.report().attempts().size());
    }
}
