package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.Scenario;
import dev.ballast.replay.EventStream;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The report's postcopy faults over time, from a journal small enough to work out by hand: each
 * fault counts in the bucket of the time it was raised (its FAULT_SERVED's time less its latency),
 * with the mean and the longest latency of the bucket's faults.
 */
class FaultSeriesTest {
    /** Events (type, time, a, b, c) in journal order, numbered from 0. */
    static RunInput journal(long[]... events) {
        RunManifest m = RunManifest.of(Scenario.sim(64L << 20, "idle", "legacy", 1));
        return new RunInput("hand-made", m, () -> {
            Iterator<long[]> it = List.of(events).iterator();
            long[] n = {0};
            return (EventStream) e -> {
                if (!it.hasNext()) return false;
                long[] v = it.next();
                e.set(n[0]++, EventType.byId((int) v[0]), v[1], v[2], v[3], v[4]);
                return true;
            };
        });
    }

    static long[] ev(EventType t, long timeNs, long a, long b, long c) {
        return new long[] {t.id(), timeNs, a, b, c};
    }

    @Test
    void shouldPutEachFaultAtTheTimeItWasRaisedWithItsBucketsMeanAndLongestWait() {
        ReportData d = ReportData.read(journal(
                ev(EventType.PHASE, 0, Phase.SETUP.ordinal(), 0, 0),
                ev(EventType.FAULT_SERVED, 10_000, 0, 5, 4_000), // raised at 6 us
                ev(EventType.FAULT_SERVED, 11_000, 0, 6, 6_500), // raised at 4.5 us
                ev(EventType.FAULT_SERVED, 9_000, 0, 7, 2_000), // raised at 7 us
                ev(EventType.FAULT_ZERO, 7_500, 0, 8, 0),
                // the run's last event at 400 us: 400 buckets of 1 us do not hold it, so buckets of 2 us
                ev(EventType.STEP, 400_000, 1, 0, 0)));
        ReportData.Series s = d.series();
        assertThat(s.bucketMs()).isEqualTo(0.002);
        int n = s.faultsServed().length;
        assertThat(n).isEqualTo(201); // buckets 0..200, the last holding 400 us
        long[] served = new long[n];
        served[2] = 1; // [4, 6) us: the fault raised at 4.5
        served[3] = 2; // [6, 8) us: those raised at 6 and 7
        assertThat(s.faultsServed()).containsExactly(served);
        double[] mean = new double[n], max = new double[n];
        mean[2] = max[2] = 0.0065;
        mean[3] = (0.004 + 0.002) / 2;
        max[3] = 0.004;
        assertThat(s.faultLatencyMeanMs()).containsExactly(mean, within(1e-12));
        assertThat(s.faultLatencyMaxMs()).containsExactly(max, within(1e-12));
        long[] zero = new long[n];
        zero[3] = 1; // at 7.5 us
        assertThat(s.faultsZero()).containsExactly(zero);
    }

    /** A simulated postcopy run: the chart's faults are the run's, and no bucket waits longer than the run's longest fault. */
    @Test
    void shouldCountEveryServedFaultOfASimulatedPostcopyRun() {
        // a guest that writes faster than pre-copy can send: it switches after pass 2
        Scenario sc = Scenario.sim(256L << 20, "random-write,rate=4GiB/s", "legacy", 3)
                .withLimits(10_000_000_000L, 5_000_000L, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse("2"));
        Recorded rec = Recorded.run(sc);
        dev.ballast.core.run.RunReport.Postcopy p = rec.report.postcopy();
        assertThat(p).isNotNull();
        assertThat(p.faults()).as("the run faults").isPositive();
        ReportData.Series s = ReportData.read(rec.input()).series();
        long served = java.util.Arrays.stream(s.faultsServed()).sum();
        // every fault was served before the migration ended (none left over: invariant 8 held)
        assertThat(served).isEqualTo(p.faults());
        assertThat(java.util.Arrays.stream(s.faultsZero()).sum()).isEqualTo(p.zeroPlaced());
        double longest = java.util.Arrays.stream(s.faultLatencyMaxMs()).max().orElse(0);
        assertThat(longest).isCloseTo(p.faultLatencyMaxMs(), within(1e-6));
    }

    @Test
    void shouldRefuseANegativeLatency() {
        assertThatThrownBy(() -> ReportData.read(journal(
                        ev(EventType.PHASE, 0, Phase.SETUP.ordinal(), 0, 0),
                        ev(EventType.FAULT_SERVED, 10_000, 0, 5, -1))))
                .isInstanceOf(ReportException.class)
                .hasMessage(
                        "hand-made: event 1 (FAULT_SERVED) has a negative latency (-1 ns) — the journal is damaged or"
                                + " does not belong to this run");
    }
}
