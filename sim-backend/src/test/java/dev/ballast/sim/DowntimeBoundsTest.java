package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Downtime against the physics of the link, in the simulator: the guest is stopped at least for
 * the link's latency (COMPLETE reaches the destination) plus the time the link needs for what was
 * sent while it was stopped, at the slower of the link's speed and the run's limit. This is a
 * lower bound that holds whatever the engine estimates before it stops the guest; the estimate
 * itself is not asserted here.
 */
class DowntimeBoundsTest {

    /** What a run sent while the guest was stopped, from its events. */
    static final class StoppedBytes implements EventSink {
        final int header;
        boolean stopped;
        long bytes;
        long stopAtNs = -1;

        StoppedBytes(int header) {
            this.header = header;
        }

        @Override
        public void publish(EventType type, long t, long a, long b, long c) {
            if (type == EventType.PHASE) {
                boolean nowStopped = a == Phase.STOP_AND_COPY.ordinal();
                if (nowStopped && !stopped) stopAtNs = t;
                stopped = nowStopped;
            } else if (stopped && type == EventType.SEND_NORMAL) {
                bytes += c * (RamLayout.PAGE_SIZE + (long) header);
            } else if (stopped && type == EventType.SEND_FILL) {
                bytes += header + 8L;
            }
        }
    }

    static CostProfile profile(long latencyNs, long linkBitsPerSec) {
        CostProfile d = CostProfile.defaults();
        return new CostProfile(
                d.zeroCheckNsPerPage(),
                d.dataCheckNsPerPage(),
                d.copyNsPerPage(),
                d.scanNsPerPage(),
                d.pageHeaderBytes(),
                latencyNs,
                linkBitsPerSec,
                d.syncNsPerGiB(),
                "test");
    }

    static double lowerBoundMs(long latencyNs, long bitsPerSec, long bytes) {
        return (latencyNs + bytes * 8e9 / bitsPerSec) / 1e6;
    }

    @Property(tries = 40)
    void downtimeIsAtLeastTheLatencyPlusTheTransferOfWhatWasSentWhileStopped(
            @ForAll @From("workloads") String workload,
            @ForAll @From("policies") String policy,
            @ForAll @LongRange(min = 0, max = 20_000_000) long latencyNs,
            @ForAll @IntRange(min = 0, max = 3) int speed,
            @ForAll @LongRange(min = 1, max = 1000) long seed) {
        long linkBits = new long[] {100_000_000L, 1_000_000_000L, 10_000_000_000L, 40_000_000_000L}[speed];
        long limitBits = seed % 3 == 0 ? linkBits / 4 : 0; // some runs capped below the link
        long effective = limitBits > 0 ? Math.min(limitBits, linkBits) : linkBits;
        CostProfile p = profile(latencyNs, linkBits);
        Scenario s = Scenario.sim(256 * M, workload, policy, seed)
                .withCostProfile(p)
                .withLimits(limitBits, 300_000_000L, 30, 0);
        StoppedBytes ev = new StoppedBytes(p.pageHeaderBytes());
        RunReport r = new SimRun(s, s.layout(), SimRun.Hooks.NONE, ev, Backend.Progress.NONE).run();
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(ev.stopAtNs).as("the guest was stopped").isGreaterThanOrEqualTo(0);
        double bound = lowerBoundMs(latencyNs, effective, ev.bytes);
        assertThat(r.downtimeMs())
                .as(
                        "%s %s: downtime vs latency %d ns + %d bytes at %d bit/s",
                        workload, policy, latencyNs, ev.bytes, effective)
                .isGreaterThanOrEqualTo(bound * (1 - 1e-9));
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> workloads() {
        return net.jqwik.api.Arbitraries.of("idle", "memhog", "compile", "random-write", "balloon:25");
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> policies() {
        return net.jqwik.api.Arbitraries.of(SimRuns.POLICIES);
    }

    /** A slow, far link: the bound is dominated by what is sent while stopped, and by the latency. */
    @Test
    void aFarSlowLinkCostsItsLatencyAndItsTransferTime() {
        long latency = 25_000_000L; // 25 ms one way
        long bits = 100_000_000L; // 100 Mbit/s
        CostProfile p = profile(latency, bits);
        Scenario s = Scenario.sim(256 * M, "random-write", "legacy", 5)
                .withCostProfile(p)
                .withLimits(0, 300_000_000L, 30, 0);
        StoppedBytes ev = new StoppedBytes(p.pageHeaderBytes());
        RunReport r = new SimRun(s, s.layout(), SimRun.Hooks.NONE, ev, Backend.Progress.NONE).run();
        assertThat(ev.bytes).as("pages were dirty at the switch-over").isGreaterThan(0);
        assertThat(r.downtimeMs()).isGreaterThanOrEqualTo(lowerBoundMs(latency, bits, ev.bytes));
    }

    /** An idle guest with nothing dirty converges at once, and its measured downtime fits its limit. */
    @Test
    void anIdleGuestStopsWithinItsLimit() {
        for (long limitMs : new long[] {5, 30, 300}) {
            Scenario s = Scenario.sim(256 * M, "idle,rate=0", "legacy", 3)
                    .withCostProfile(profile(200_000, 10_000_000_000L))
                    .withLimits(0, limitMs * 1_000_000L, 30, 0);
            StoppedBytes ev = new StoppedBytes(8);
            RunReport r = new SimRun(s, s.layout(), SimRun.Hooks.NONE, ev, Backend.Progress.NONE).run();
            assertThat(r.outcome()).isEqualTo("completed");
            assertThat(r.downtimeMs())
                    .as("limit %d ms", limitMs)
                    .isLessThanOrEqualTo(limitMs)
                    .isGreaterThanOrEqualTo(0.2);
        }
    }
}
