package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.LegacyPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The switch-over estimate counts the final dirty-log sync. A hand-driven guest of 4096 data pages whose every sync
 * costs 6 ms: each step sends 64 pages and lasts 1 ms, so the bulk pass sends 4096 × 4104 bytes in 64 ms
 * (262,656,000 B/s), and 64 pages written before the first sync are 262,656 bytes: 1 ms at that bandwidth.
 */
class SwitchoverEstimateTest {
    private static final long MS = 1_000_000L;
    private static final long SYNC_NS = 6 * MS;

    private static MigrationEngineTest.Harness harness(
            long limitNs, int maxIterations, boolean countFinalSync, boolean writeEverySync) {
        EngineConfig cfg = new EngineConfig(0, limitNs, maxIterations, 0, CommandIds.MIN, 64, 1024, 8, countFinalSync);
        MigrationEngineTest.Harness h =
                new MigrationEngineTest.Harness(MigrationEngineTest.oneBlock(4096), new LegacyPolicy(), cfg);
        for (int i = 0; i < 4096; i++) h.guest.write(i);
        h.guest.beforeEachSync = g -> {
            h.now += SYNC_NS; // the sync takes 6 ms of the engine's clock
            if (g.running && (writeEverySync || g.syncs == 1)) for (int i = 0; i < 64; i++) g.write(1000 + i);
        };
        return h;
    }

    private static RunFold fold(MigrationEngineTest.Harness h) {
        RunFold f = new RunFold(MigrationEngineTest.oneBlock(4096), 0, 8);
        for (long[] e : h.events) f.publish(EventType.values()[(int) e[0]], e[1], e[2], e[3], e[4]);
        return f;
    }

    @Test
    void shouldExpectTheFinalSyncPlusTheBytesLeftAndGetIt() {
        MigrationEngineTest.Harness h = harness(10 * MS, 30, true, false).run();
        List<long[]> estimates = h.of(EventType.DOWNTIME_ESTIMATE);
        assertThat(estimates).hasSize(1);
        long[] e = estimates.getFirst();
        assertThat(e[3]).as("the sync's time").isEqualTo(SYNC_NS);
        assertThat(e[2]).as("6 ms of sync + 1 ms of bytes").isEqualTo(7 * MS);
        assertThat(e[4]).as("the limit").isEqualTo(10 * MS);
        assertThat(h.of(EventType.CONVERGENCE).getLast()[4]).isEqualTo(Convergence.Decision.CONVERGED.ordinal());

        RunFold f = fold(h);
        // paused at 72 ms, the final sync takes 6 ms, a step sends the 64 pages (79 ms), the next finds none left
        // and completes (80 ms): 1 ms more than expected, the step that finds the end of the bitmap
        assertThat(h.engine.stats().downtimeNs()).isEqualTo(8 * MS);
        assertThat(f.expectedDowntimeNs()).isEqualTo(7 * MS);
        assertThat(f.downtimeLimitNs()).isEqualTo(10 * MS);
        assertThat(f.downtimeExceeded()).isFalse();
        RunFold.Figures fig = f.figures();
        assertThat(fig.remainingBytes()).isEqualTo(64L * 4104);
        assertThat(fig.downtimeBytes()).isEqualTo(64L * 4104);
        assertThat(fig.dirtySyncCount())
                .as("sync 0 at setup, after the bulk pass, the final one")
                .isEqualTo(3);
        // sync 1 found 64 pages, 65 ms after sync 0
        assertThat(fig.dirtyPagesRate()).isEqualTo(Math.round(64 / 0.065));
    }

    @Test
    void shouldNotSwitchOverOnAnEstimateThatLeavesTheSyncOutAndShouldFlagTheOvershoot() {
        // the old rule: 1 ms of bytes fits 5 ms, so it pauses; the final sync makes the downtime 8 ms (as above)
        MigrationEngineTest.Harness old = harness(5 * MS, 3, false, true).run();
        assertThat(old.of(EventType.DOWNTIME_ESTIMATE)).isEmpty();
        assertThat(old.of(EventType.CONVERGENCE).getFirst()[4]).isEqualTo(Convergence.Decision.CONVERGED.ordinal());
        RunFold of = fold(old);
        assertThat(of.expectedDowntimeNs()).isEqualTo(1 * MS);
        assertThat(old.engine.stats().downtimeNs()).isEqualTo(8 * MS);
        assertThat(of.downtimeExceeded(5 * MS)).isTrue();

        // the current rule: 7 ms expected never fits 5 ms; the iteration cap forces the switch-over, and it is flagged
        MigrationEngineTest.Harness now = harness(5 * MS, 3, true, true).run();
        // after the bulk pass 6 + 1 ms; after a pass of those 64 pages, which took 2 steps, 6 + 2 ms
        assertThat(now.of(EventType.DOWNTIME_ESTIMATE)).extracting(e -> e[2]).containsExactly(7 * MS, 8 * MS, 8 * MS);
        assertThat(now.of(EventType.CONVERGENCE).getLast()[4]).isEqualTo(Convergence.Decision.ITERATION_CAP.ordinal());
        RunFold nf = fold(now);
        assertThat(nf.expectedDowntimeNs()).isEqualTo(8 * MS);
        assertThat(now.engine.stats().downtimeNs()).isGreaterThan(5 * MS);
        assertThat(nf.downtimeExceeded()).isTrue();
        assertThat(now.link.content).isEqualTo(now.guest.content);
    }
}
