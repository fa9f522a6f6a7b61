package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.LegacyPolicy;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * QEMU's sync before it decides to stop ({@link EngineConfig#syncBeforeStop()}), on a hand-driven guest of 16,384 data
 * pages. Every step sends 64 pages of 4,104 bytes (262,656 B) and lasts 1 ms; the syncs take no time; the downtime
 * limit is 101 ms. The bandwidth is measured over windows of 100 ms: at 100 ms, 99 steps had sent 26,002,944 B
 * (260,029,440 B/s; the step at 0 was the setup), so the rest fits 101 ms once it is at most 6,399 pages.
 */
class SyncBeforeStopTest {
    private static final long MS = 1_000_000L;
    private static final int PAGES = 16_384;

    private static MigrationEngineTest.Harness harness(boolean syncBeforeStop) {
        EngineConfig cfg =
                new EngineConfig(0, 101 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8).withSyncBeforeStop(syncBeforeStop);
        MigrationEngineTest.Harness h =
                new MigrationEngineTest.Harness(MigrationEngineTest.oneBlock(PAGES), new LegacyPolicy(), cfg);
        for (int i = 0; i < PAGES; i++) h.guest.write(i);
        // by the first sync after the setup's, the guest has rewritten the first half (sent by then either way)
        h.guest.beforeEachSync = g -> {
            if (g.syncs == 1) for (int i = 0; i < PAGES / 2; i++) g.write(i);
        };
        return h;
    }

    private static List<Long> syncTimesMs(MigrationEngineTest.Harness h) {
        return h.of(EventType.SYNC_BEGIN).stream().map(e -> e[1] / MS).toList();
    }

    @Test
    void shouldSyncInTheMiddleOfAPassWhenTheRestFitsAndStopOnlyWhenItStillFitsAfterTheSync() {
        MigrationEngineTest.Harness h = harness(true).run();

        // 158 ms: 157 steps sent 10,048 pages, 6,336 left (100 ms at 260,029,440 B/s): sync 1, mid-bulk. It finds
        // the 8,192 rewritten pages: 14,528 left, 229 ms, so the sweep goes on from page 10,048 and ends at 257 ms.
        // The 8,192 left then do not fit (129 ms): pass 2 starts without a sync. At 287 ms (29 steps of pass 2),
        // 6,336 are left: sync 2 finds nothing new, they fit, and the guest is paused at 288 ms (sync 3, the final).
        assertThat(syncTimesMs(h)).containsExactly(0L, 158L, 287L, 288L);
        assertThat(h.phases())
                .containsExactly(Phase.SETUP, Phase.BULK, Phase.ITERATE, Phase.STOP_AND_COPY, Phase.COMPLETED);
        assertThat(h.of(EventType.PHASE).stream().map(e -> e[1] / MS).toList())
                .as("pass 2 starts right after the bulk pass's last step, without a sync")
                .containsExactly(0L, 0L, 257L, 288L, 388L);
        List<long[]> conv = h.of(EventType.CONVERGENCE);
        assertThat(conv).extracting(e -> e[2]).containsExactly(14_528L * 4104, 6_336L * 4104);
        assertThat(conv).extracting(e -> e[3]).containsExactly(260_029_440L, 260_029_440L);
        assertThat(conv).extracting(e -> e[4]).containsExactly((long) Convergence.Decision.CONTINUE.ordinal(), (long)
                Convergence.Decision.CONVERGED.ordinal());
        assertThat(h.of(EventType.DOWNTIME_ESTIMATE).getLast()[2]).isEqualTo(100 * MS);

        EngineStats s = h.engine.stats();
        // 6,336 pages in 99 steps while paused, and the step that finds none left
        assertThat(s.downtimeNs()).isEqualTo(100 * MS);
        assertThat(s.pagesNormal()).isEqualTo(PAGES + PAGES / 2);
        assertThat(s.resent()).isEqualTo(PAGES / 2);
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldSyncAndDecideOnlyAtTheEndOfEachPassWithoutIt() {
        MigrationEngineTest.Harness h = harness(false).run();
        // the bulk pass ends at 256 ms, its sync (257 ms) finds the 8,192 pages: 128 ms at the pass's 262,656,000 B/s;
        // pass 2 sends them (258-385 ms), its step at 386 ms finds none left past them and ends it, its sync at
        // 387 ms finds nothing, and the pause at 388 ms has nothing left
        assertThat(syncTimesMs(h)).containsExactly(0L, 257L, 387L, 388L);
        // each decided on its pass's bandwidth: 16,384 pages in 256 ms, then 8,192 in 129 ms (the step that ended it)
        assertThat(h.of(EventType.CONVERGENCE)).extracting(e -> e[3]).containsExactly(262_656_000L, 260_619_906L);
        assertThat(h.engine.stats().downtimeNs()).isEqualTo(1 * MS);
        assertThat(h.engine.stats().pagesNormal()).isEqualTo(PAGES + PAGES / 2);
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldSwitchToPostcopyAfterTheAskedPassThoughItEndsWithoutASync() {
        // the first case with --postcopy-after 1: the bulk pass ends at 257 ms with the 8,192 rewritten pages left,
        // too many to fit, so no sync ends it; the switch-over comes there all the same (the property suite found it
        // going on to pass 2 and stopping there, converged, without postcopy)
        FakeGuest g = new FakeGuest(MigrationEngineTest.oneBlock(PAGES));
        for (int i = 0; i < PAGES; i++) g.write(i);
        g.beforeEachSync = x -> {
            if (x.syncs == 1) for (int i = 0; i < PAGES / 2; i++) x.write(i);
        };
        EngineConfig cfg = new EngineConfig(0, 101 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8).withSyncBeforeStop(true);
        EngineStepTest.Rig r = new EngineStepTest.Rig(g, new LegacyPolicy(), cfg, Postcopy.parse("1"));
        r.run();
        assertThat(r.of(EventType.POSTCOPY_START)).hasSize(1);
        assertThat(r.of(EventType.POSTCOPY_START).getFirst()[2])
                .as("after pass")
                .isEqualTo(1);
        assertThat(r.of(EventType.POSTCOPY_START).getFirst()[1] / MS).isEqualTo(257);
    }

    @Test
    void shouldNotSyncBeforeTheBandwidthIsMeasured() {
        // a guest whose bulk pass ends (64 steps) before the first 100 ms window: nothing to decide on mid-pass, so
        // the only syncs are the setup's, the one that ends the bulk pass (a pass ending with nothing left syncs) and
        // the final one
        EngineConfig cfg = new EngineConfig(0, 101 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8).withSyncBeforeStop(true);
        MigrationEngineTest.Harness h =
                new MigrationEngineTest.Harness(MigrationEngineTest.oneBlock(4096), new LegacyPolicy(), cfg);
        for (int i = 0; i < 4096; i++) h.guest.write(i);
        h.run();
        assertThat(syncTimesMs(h)).containsExactly(0L, 65L, 66L);
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }
}
