package dev.ballast.core.engine;

import static dev.ballast.core.engine.MigrationEngineTest.oneBlock;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.MigrationEngineTest.Harness;
import dev.ballast.core.event.EventType;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.FreeBitmapPolicy;
import dev.ballast.core.policy.HintPolicy;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The engine's handling of the dirty bits and fill marks of free pages, pinned one case at a time
 * (the simulator's properties reach these only by chance):
 * <ul>
 *   <li>a held free page (a free page hint) still to be sent in this pass loses the dirty bit its
 *       freeing left, so it is not sent at the next sync;</li>
 *   <li>a held free page sent already in this pass keeps that dirty bit: the destination has what
 *       the page held before the guest freed it;</li>
 *   <li>a page marked to go as poison (a free bitmap of a poisoning guest) and then written goes
 *       with its data: the write clears the mark.</li>
 * </ul>
 */
class FreePageBitsTest {
    /** 64 pages a step, so the bulk pass takes 32 steps over 2048 pages and a test can act in between. */
    static EngineConfig cfg() {
        return new EngineConfig(0, 300_000_000L, 30, 0, CommandIds.MIN, 64, 1024, 8);
    }

    static void steps(Harness h, int n) {
        for (int i = 0; i < n && !h.engine.phase().isTerminal(); i++) {
            h.engine.doWork();
            h.now += 1_000_000L;
        }
    }

    @Test
    void aHeldFreePageStillToSendLosesTheDirtyBitOfItsFreeing() {
        Harness h = new Harness(oneBlock(2048), new HintPolicy(), cfg());
        FakeGuest g = h.guest;
        for (int i = 0; i < 1024; i++) g.write(i);
        g.onHintCommand = id -> {
            if (id != CommandIds.MIN) return;
            // The guest frees [1024, 2048), which writes them (dirty bits), then hints and holds them.
            for (int i = 1024; i < 2048; i++) g.write(i);
            g.request(EventType.HINT, id, 1024, 1024);
        };
        h.run();
        assertThat(h.engine.stats().skippedFree()).isEqualTo(1024);
        assertThat(h.link.received.countRange(1024, 2048))
                .as("held free pages sent")
                .isZero();
        assertThat(h.engine.stats().resent()).isZero();
        assertThat(h.link.received.countRange(0, 1024)).isEqualTo(1024);
    }

    @Test
    void aHeldFreePageSentAlreadyKeepsItsDirtyBit() {
        Harness h = new Harness(oneBlock(2048), new HintPolicy(), cfg());
        FakeGuest g = h.guest;
        for (int i = 0; i < 2048; i++) g.write(i);
        steps(h, 4); // setup, then the first pages of the bulk pass
        long sentAlready = h.link.received.nextClearBit(0);
        assertThat(sentAlready).as("pages sent before the hint").isBetween(64L, 1024L);
        long id = g.hintCommands.getFirst();
        // The guest frees [0, 64) (sent already) and [1536, 1600) (not yet), then hints both.
        for (int i = 0; i < 64; i++) g.write(i);
        for (int i = 1536; i < 1600; i++) g.write(i);
        g.request(EventType.HINT, id, 0, 64);
        g.request(EventType.HINT, id, 1536, 64);
        h.run();
        assertThat(Arrays.copyOfRange(h.link.content, 0, 64))
                .as("the freed pages sent before the hint, sent again")
                .isEqualTo(Arrays.copyOfRange(g.content, 0, 64));
        assertThat(h.engine.stats().resent()).isEqualTo(64);
        assertThat(h.link.received.countRange(1536, 1600))
                .as("the held pages not sent yet")
                .isZero();
    }

    @Test
    void aPageMarkedForPoisonAndThenWrittenGoesWithItsData() {
        FakeGuest g = new FakeGuest(oneBlock(2048));
        g.features = new GuestFeatures(true, false, true, 0xAA);
        Harness h = new Harness(g, new FreeBitmapPolicy(), cfg());
        Arrays.fill(g.content, -0xAA); // every page free and poisoned
        steps(h, 4); // setup (the free bitmap is asked for), then the first pages of the bulk pass go as they are
        long passed = h.link.received.nextClearBit(0);
        assertThat(passed).isBetween(128L, 1024L);
        assertThat(g.bitmapRequests).hasSize(1);
        // The bitmap arrives late: it marks pages the pass has sent already, and pages still to send.
        g.request(EventType.FREE_BITMAP, g.bitmapRequests.getFirst(), 0, 2048);
        g.request(EventType.FREE_BITMAP_END, g.bitmapRequests.getFirst(), 0, 0);
        steps(h, 2);
        // The guest allocates and writes one page behind the pass and one ahead of it.
        g.write(100);
        g.write(1700);
        h.run();
        assertThat(h.link.content[100])
                .as("the written page behind the pass")
                .isEqualTo(g.content[100])
                .isPositive();
        assertThat(h.link.content[1700])
                .as("the written page ahead of the pass")
                .isEqualTo(g.content[1700])
                .isPositive();
        for (int i = 0; i < 2048; i++)
            if (i != 100 && i != 1700)
                assertThat(h.link.content[i]).as("page %d", i).isEqualTo(-0xAA);
    }
}
