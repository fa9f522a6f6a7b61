package dev.ballast.properties;

import static dev.ballast.properties.Generators.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.RunReports;
import dev.ballast.journal.JournalDigest;
import dev.ballast.replay.EventStream;
import dev.ballast.replay.JournalQueries;
import dev.ballast.replay.JournalRecorder;
import dev.ballast.replay.Replay;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * What the journal and the reports promise: a replay of a run's events reproduces every decision,
 * one seed gives one digest, and the statistics add up.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class JournalProperties {
    @Provide
    Arbitrary<SimCase> anything() {
        return cases().build();
    }

    /** A run's events in memory, in order. */
    static final class Recording implements EventSink {
        final List<long[]> events = new ArrayList<>();

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            events.add(new long[] {type.id(), timeNs, a, b, c});
        }

        EventStream stream() {
            int[] i = {0};
            return into -> {
                if (i[0] >= events.size()) return false;
                long[] e = events.get(i[0]);
                into.set(i[0]++, EventType.byId((int) e[0]), e[1], e[2], e[3], e[4]);
                return true;
            };
        }
    }

    /** The engine driven by the recorded events alone (no guest) makes every decision it made, event for event. */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void aReplayReproducesEveryDecision(@ForAll("anything") SimCase c) {
        Recording rec = new Recording();
        SimRunner.Outcome o = SimRunner.run(c, Mutants.active(), rec);
        Replay.Result r = Replay.run(SimRunner.manifest(c), rec.stream());
        assertThat(r.divergence()).as("the replay's first difference").isNull();
        assertThat(r.truncated()).isFalse();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations())
                .as("engines replayed")
                .isEqualTo(o.report().attempts().size());
    }

    /** The same through a real journal on disk (Disruptor ring, Chronicle Queue): its digest is the in-memory one, and it replays. */
    @Property(tries = Budget.PAIRS / 10, shrinking = ShrinkingMode.BOUNDED)
    @SuppressWarnings(
            "try") // the recorder is closed inside its block on purpose: its count and digest are final only after
    // close
    void aJournalOnDiskReplays(@ForAll("anything") SimCase c) throws IOException {
        Path dir = Files.createTempDirectory("ballast-property-journal");
        try {
            JournalDigest direct = new JournalDigest();
            SimRunner.Outcome o;
            long written;
            long digest;
            try (JournalRecorder rec = new JournalRecorder(dir, SimRunner.manifest(c), Map.of("case", c.toString()))) {
                o = SimRunner.run(c, Mutants.active(), (type, timeNs, a, b, cc) -> {
                    direct.update(type.id(), timeNs, a, b, cc);
                    rec.publish(type, timeNs, a, b, cc);
                });
                rec.close();
                written = rec.events();
                digest = rec.digest();
            }
            assertThat(written).isEqualTo(o.events());
            assertThat(digest)
                    .as("the journal's digest")
                    .isEqualTo(direct.value())
                    .isEqualTo(o.digest());
            Replay.Result r = JournalQueries.replay(dir);
            assertThat(r.ok()).as("replay of %s: %s", dir, r.divergence()).isTrue();
            assertThat(r.events()).isEqualTo(written);
        } finally {
            deleteTree(dir);
        }
    }

    /** Two runs of one case and seed publish the same events: the same digest, the same report. */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void oneSeedGivesOneDigest(@ForAll("anything") SimCase c) {
        SimRunner.Outcome a = SimRunner.run(c);
        SimRunner.Outcome b = SimRunner.run(c);
        assertThat(b.events()).isEqualTo(a.events());
        assertThat(JournalDigest.toHex(b.digest())).isEqualTo(JournalDigest.toHex(a.digest()));
        assertThat(withoutWall(b.report())).isEqualTo(withoutWall(a.report()));
    }

    private static RunReport withoutWall(RunReport r) {
        List<RunReport> hops =
                r.hops().stream().map(JournalProperties::withoutWall).toList();
        return RunReports.withHops(RunReports.withWall(r, 0), hops);
    }

    /**
     * The statistics add up: each migration's first pass accounts for every page the destination
     * lacked (sent, a fill record, skipped in the balloon, or cleared by a hint) and sends none
     * twice; the bytes are normal pages × (4096 + header) + fill records × (header + 8); the report's
     * counters are the events' sums.
     */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void theStatisticsAddUp(@ForAll("anything") SimCase c) {
        Accounting books = new Accounting(
                c.layout().ramLayout(), c.scenario().costProfile().pageHeaderBytes());
        SimRunner.Outcome o = SimRunner.run(c, Mutants.active(), books);
        RunReport r = o.report();
        assertThat(books.problems).isEmpty();
        assertThat(r.transferredBytes())
                .as("bytes reported")
                .isEqualTo(books.bytesReported)
                .as("normal pages × (4096 + header) + fill records × (header + 8)")
                .isEqualTo(books.bytesFromPages);
        assertThat(r.pages().normal()).as("normal pages").isEqualTo(books.normal);
        assertThat(r.pages().zero()).as("zero pages").isEqualTo(books.zero);
        assertThat(r.pages().skippedBalloon())
                .as("pages skipped in the balloon")
                .isEqualTo(books.skippedBalloon);
        assertThat(r.pages().skippedFree())
                .as("free pages skipped or sent as poison")
                .isGreaterThanOrEqualTo(books.poisonFilled);
        assertThat(r.hints().ranges()).as("hint ranges").isEqualTo(books.hintRanges);
        assertThat(r.attempts()).hasSize((int) books.engines);
        if (o.completed() && !c.faults().any()) {
            assertThat(r.pages().normal()
                            + r.pages().zero()
                            + r.pages().skippedBalloon()
                            + r.pages().skippedFree())
                    .as("every page of every block, at least once")
                    .isGreaterThanOrEqualTo(c.layout().pages());
        }
    }

    /** The simulated guest's device rings: two pages the host writes whenever a device answers (SimGuest). */
    static final int DEVICE_RING_PAGES = 2;

    /**
     * A policy never sends more than {@code legacy} for the same scenario and seed, with one
     * exception, and for guests that do not write while they migrate (the README of this package
     * says why busy guests are left out): its own requests to the guest's devices (hint commands,
     * free bitmap requests) make the host write the used rings, which are then sent again — at most
     * the ring pages once a pass; a skipped run can split a run of zero pages that legacy sends as
     * one fill record into two, and a poisoned free page legacy sends with its data goes as (part of)
     * a fill record: so no more bytes than legacy but for the ring pages and one record a skip.
     */
    @Property(tries = Budget.PAIRS, shrinking = ShrinkingMode.BOUNDED)
    void aPolicyNeverSendsMoreThanLegacy(@ForAll("quietOptimized") SimCase c) {
        int header = c.scenario().costProfile().pageHeaderBytes();
        Accounting p = new Accounting(c.layout().ramLayout(), header);
        Accounting l = new Accounting(c.layout().ramLayout(), header);
        RunReport rp = SimRunner.run(c, Mutants.active(), p).report();
        RunReport rl =
                SimRunner.run(c.withPolicy("legacy"), Mutants.active(), l).report();
        long ringAllowance = (long) DEVICE_RING_PAGES * rp.iterations();
        assertThat(p.normal)
                .as("normal pages of %s (legacy: %d, ring allowance %d)", c.policy(), l.normal, ringAllowance)
                .isLessThanOrEqualTo(l.normal + ringAllowance);
        long replaced = Math.max(0, l.normal + ringAllowance - p.normal);
        assertThat(p.fillRecords)
                .as(
                        "fill records of %s (legacy: %d, %d skipped runs, %d pages legacy sent with data and it did not)",
                        c.policy(), l.fillRecords, p.skipRuns, replaced)
                .isLessThanOrEqualTo(l.fillRecords + p.skipRuns + replaced);
        assertThat(rp.transferredBytes())
                .as("bytes of %s (legacy: %d)", c.policy(), rl.transferredBytes())
                .isLessThanOrEqualTo(
                        rl.transferredBytes() + ringAllowance * (4096L + header) + p.skipRuns * (header + 8L));
    }

    @Provide
    Arbitrary<SimCase> quietOptimized() {
        return cases().policy(net.jqwik.api.Arbitraries.of("balloon", "hint", "bitmap", "hint+balloon"))
                .workload(quietWorkloads())
                .faults(net.jqwik.api.Arbitraries.just(SimCase.Faults.NONE))
                .build();
    }

    static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
