package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.ballast.core.engine.Convergence;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.Scenario;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The report's fold on events written by hand: hops and attempts, link failures, warnings, bytes in time. */
class ReportFoldTest {
    private static final long MS = 1_000_000L;
    private static final RunManifest MANIFEST = RunManifest.of(Scenario.sim(64L << 20, "idle", "legacy", 1));
    private static final long PAGE = RamLayout.PAGE_SIZE + MANIFEST.engine().pageHeaderBytes();

    /** Writes events with numbers in order. */
    private static final class Events {
        final ReportFold fold = new ReportFold("test", MANIFEST);
        long n;

        Events at(long t, EventType type, long a, long b, long c) {
            fold.apply(n++, type, t, a, b, c);
            return this;
        }

        /** An attempt from {@code start}: setup, a bulk pass sending {@code pages} pages in one step that lasts {@code stepMs}, then its end. */
        Events attempt(long start, long pages, long stepMs, Phase outcome, long downtimeNs) {
            at(start, EventType.STEP, 0, 0, 0);
            at(start, EventType.PHASE, Phase.SETUP.ordinal(), 0, 0);
            at(start, EventType.SYNC_BEGIN, 0, 0, 0);
            at(start, EventType.DIRTY, 0, 0, 4096);
            at(start, EventType.SYNC_END, 0, 4096, 0);
            at(start, EventType.PHASE, Phase.BULK.ordinal(), 1, 0);
            at(start, EventType.SEND_NORMAL, 0, 0, pages);
            long t = start + stepMs * MS;
            at(t, EventType.STEP, 1, 0, 0);
            if (outcome == Phase.FAILED) {
                at(t, EventType.LINK_FAILED, FailureCause.PEER_CLOSED.ordinal(), 0, 0);
                at(t, EventType.PHASE, Phase.FAILED.ordinal(), 1, 0);
                return at(t, EventType.END, Phase.FAILED.ordinal(), pages * PAGE, 0);
            }
            at(t, EventType.ITERATION_END, 1, pages, pages * PAGE);
            at(t, EventType.CONVERGENCE, 0, 1_000_000_000L, Convergence.Decision.values().length - 1);
            at(t, EventType.GUEST_RUN_STATE, 1, 0, 0);
            at(t, EventType.PHASE, Phase.STOP_AND_COPY.ordinal(), 2, 0);
            at(t + downtimeNs, EventType.STEP, 2, 0, 0);
            at(t + downtimeNs, EventType.ITERATION_END, 2, 0, 0);
            at(t + downtimeNs, EventType.PHASE, Phase.COMPLETED.ordinal(), 2, 0);
            return at(t + downtimeNs, EventType.END, Phase.COMPLETED.ordinal(), pages * PAGE, downtimeNs);
        }
    }

    /** A destination's journal (ballast dest --journal): faults and placements, no migration of the engine's. */
    @Test
    void shouldDrawTheFaultsOfADestinationsJournalWithoutAMigration() {
        Events e = new Events()
                .at(100 * MS, EventType.FAULT_ZERO, 0, 0, 0)
                .at(110 * MS, EventType.FAULT, 0, 7, 1)
                .at(122 * MS, EventType.FAULT_SERVED, 0, 7, 12 * MS)
                .at(130 * MS, EventType.FAULT, 0, 9, 1)
                .at(134 * MS, EventType.FAULT_SERVED, 0, 9, 4 * MS);
        ReportData d = e.fold.finish();
        assertThat(d.hops()).isEmpty();
        assertThat(d.totals().outcome()).isEqualTo(ReportFold.DESTINATION_ONLY);
        assertThat(d.totals().events()).isEqualTo(5);
        assertThat(Arrays.stream(d.series().faultsServed()).sum()).isEqualTo(2);
        assertThat(Arrays.stream(d.series().faultsZero()).sum()).isEqualTo(1);
        assertThat(Arrays.stream(d.series().faultLatencyMaxMs()).max().orElse(0))
                .isEqualTo(12.0, within(1e-9));
        // from the first event to the last
        assertThat(d.series().endMs()).isEqualTo(34.0, within(1e-9));
    }

    @Test
    void shouldStillRefuseEventsWithNeitherAMigrationNorAFault() {
        Events e = new Events().at(0, EventType.STEP, 0, 0, 0);
        org.assertj.core.api.Assertions.assertThatThrownBy(e.fold::finish)
                .isInstanceOf(ReportException.class)
                .hasMessage("test: no migration in its 1 events");
    }

    @Test
    void shouldRetryTheSameHopAfterALinkFailureAndStartTheNextAfterACompletion() {
        Events e = new Events();
        e.attempt(0, 1000, 10, Phase.FAILED, 0);
        e.attempt(20 * MS, 4096, 40, Phase.COMPLETED, 2 * MS);
        e.at(62 * MS, EventType.VERIFY, 4096, 0, -1);
        e.attempt(100 * MS, 4096, 40, Phase.COMPLETED, 3 * MS);
        e.at(143 * MS, EventType.VERIFY, 4096, 0, -1);
        ReportData d = e.fold.finish();

        assertThat(d.hops()).extracting(ReportData.Hop::hop).containsExactly(1, 2);
        ReportData.Hop first = d.hops().getFirst();
        assertThat(first.attempts()).extracting(ReportData.Attempt::outcome).containsExactly("FAILED", "COMPLETED");
        assertThat(first.attempts()).extracting(ReportData.Attempt::cause).containsExactly("peer closed", null);
        assertThat(first.timeMs()).isCloseTo(62, within(1e-9)); // from the first attempt's start to the last one's end
        assertThat(first.downtimeMs()).isCloseTo(2, within(1e-9)); // the last attempt's
        assertThat(first.iterations()).isEqualTo(1 + 2); // every attempt's passes
        assertThat(first.transferredBytes()).isEqualTo((1000 + 4096) * PAGE);
        assertThat(d.hops().get(1).attempts()).hasSize(1);

        ReportData.Totals t = d.totals();
        assertThat(t.hops()).isEqualTo(2);
        assertThat(t.attempts()).isEqualTo(3);
        assertThat(t.outcome()).isEqualTo("COMPLETED");
        assertThat(t.timeMs()).isCloseTo(62 + 43, within(1e-9)); // the hops' times, not the gap between them
        assertThat(t.downtimeMs()).isCloseTo(2 + 3, within(1e-9));
        assertThat(d.series().endMs()).isCloseTo(143, within(1e-9));
        assertThat(d.verify().checkedPages()).isEqualTo(2 * 4096);

        assertThat(d.linkFailures()).singleElement().satisfies(f -> {
            assertThat(f.hop()).isEqualTo(1);
            assertThat(f.attempt()).isEqualTo(1);
            assertThat(f.timeMs()).isEqualTo(10);
            assertThat(f.cause()).isEqualTo("peer closed");
        });
        assertThat(d.warnings()).singleElement().satisfies(w -> {
            assertThat(w.kind()).isEqualTo("link");
            assertThat(w.hop()).isEqualTo(1);
            assertThat(w.text())
                    .contains("attempt 1 failed")
                    .contains("peer closed")
                    .contains("retried");
        });
        assertThat(d.passes())
                .extracting(p -> p.hop() + "/" + p.attempt() + "/" + p.pass())
                .containsExactly("1/1/1", "1/2/1", "1/2/2", "2/1/1", "2/1/2");
        assertThat(d.memory().hop()).isEqualTo(2);
        assertThat(d.memory().attempt()).isEqualTo(1);
    }

    @Test
    void shouldCountBytesOverTheTimeUntilTheEnginesNextClockReading() {
        // 4096 pages in one step of 40 ms, starting 20 ms in: no bytes before 20 ms or after 60 ms, an even rate
        // between
        Events e = new Events();
        e.attempt(20 * MS, 4096, 40, Phase.COMPLETED, 0);
        ReportData.Series s = e.fold.finish().series();
        double rate = 4096.0 * PAGE * 8 / (40 * MS); // Gbit/s
        double w = s.bucketMs();
        double[] g = s.gbps();
        double peak = Arrays.stream(g).max().orElseThrow();
        assertThat(peak).isLessThanOrEqualTo(rate).isGreaterThan(rate * 0.99);
        // every bucket's rate, before averaging, was this: the centre of the busy span shows it exactly
        int mid = (int) (40 / w);
        assertThat(g[mid]).isCloseTo(rate, within(rate * 0.01));
    }

    @Test
    void shouldWarnOfAFailedCheckAndOfEventsThatStopInsideAMigration() {
        Events e = new Events();
        e.attempt(0, 4096, 10, Phase.COMPLETED, MS);
        e.at(12 * MS, EventType.VERIFY, 4096, 3, 17);
        e.at(20 * MS, EventType.STEP, 0, 0, 0);
        e.at(20 * MS, EventType.PHASE, Phase.SETUP.ordinal(), 0, 0);
        e.at(21 * MS, EventType.STEP, 1, 0, 0);
        ReportData d = e.fold.finish();
        assertThat(d.totals().outcome()).isEqualTo("UNFINISHED");
        assertThat(d.hops()).extracting(ReportData.Hop::outcome).containsExactly("COMPLETED", "UNFINISHED");
        assertThat(d.warnings()).extracting(ReportData.Warning::kind).containsExactly("verify", "outcome");
        assertThat(d.warnings().getFirst().text())
                .isEqualTo("verify failed: 3 of 4096 pages differ, the first at page index 17");
        assertThat(d.verify().ok()).isFalse();
    }
}
