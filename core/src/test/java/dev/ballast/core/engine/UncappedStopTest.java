package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.LegacyPolicy;
import org.junit.jupiter.api.Test;

/**
 * A bandwidth limit that is a sender's cap lifted for the stop-and-copy ({@link EngineConfig#uncappedStop()}), as
 * QEMU's {@code migration_completion} lifts {@code max-bandwidth} before the last pass. A hand-driven guest of 4,096
 * data pages rewrites the first half before the sync that ends the bulk pass; 10 MB/s (a 100 ms window allows
 * 1,000,000 B, 244 pages of 4,104 B); a downtime limit of 10 s, so the 2,048 rewritten pages (8,404,992 B) fit once
 * the bulk pass is over. Every step lasts 1 ms and sends at most 64 pages.
 */
class UncappedStopTest {
    private static final long MS = 1_000_000L;
    private static final int PAGES = 4096;

    private static MigrationEngineTest.Harness run(boolean uncappedStop) {
        EngineConfig cfg = new EngineConfig(10_000_000, 10_000 * MS, 30, 0, CommandIds.MIN, 64, 1024, 8)
                .withUncappedStop(uncappedStop);
        MigrationEngineTest.Harness h =
                new MigrationEngineTest.Harness(MigrationEngineTest.oneBlock(PAGES), new LegacyPolicy(), cfg);
        for (int i = 0; i < PAGES; i++) h.guest.write(i);
        h.guest.beforeEachSync = g -> {
            if (g.syncs == 1) for (int i = 0; i < PAGES / 2; i++) g.write(i);
        };
        return h.run();
    }

    private static long stopAtNs(MigrationEngineTest.Harness h) {
        return h.of(EventType.PHASE).stream()
                .filter(e -> Phase.byOrdinal(e[2]) == Phase.STOP_AND_COPY)
                .findFirst()
                .orElseThrow()[1];
    }

    @Test
    void shouldHoldTheCapThroughTheStopAndCopyByDefault() {
        MigrationEngineTest.Harness h = run(false);
        assertThat(h.phases()).containsExactly(Phase.SETUP, Phase.BULK, Phase.STOP_AND_COPY, Phase.COMPLETED);
        // 8,404,992 B at 1,000,000 B a window: the ninth window is needed
        assertThat(h.engine.stats().downtimeNs()).isGreaterThan(800 * MS);
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }

    @Test
    void shouldSendTheStopAndCopyUnthrottledWhenTheCapIsLiftedForIt() {
        MigrationEngineTest.Harness capped = run(false);
        MigrationEngineTest.Harness h = run(true);
        assertThat(h.phases()).containsExactly(Phase.SETUP, Phase.BULK, Phase.STOP_AND_COPY, Phase.COMPLETED);
        // the live pass is throttled as before: the guest stops at the same time, with the same pages left
        assertThat(stopAtNs(h)).isEqualTo(stopAtNs(capped));
        assertThat(stopAtNs(h)).as("16.8 MB at 10 MB/s").isGreaterThan(1_600 * MS);
        // then 2,048 pages at 64 a step, and the step that finds none left
        assertThat(h.engine.stats().downtimeNs()).isLessThanOrEqualTo((PAGES / 2 / 64 + 2) * MS);
        assertThat(h.engine.stats().pagesNormal()).isEqualTo(PAGES + PAGES / 2);
        assertThat(h.engine.transferredBytes()).isEqualTo(capped.engine.transferredBytes());
        assertThat(h.link.content).isEqualTo(h.guest.content);
    }
}
