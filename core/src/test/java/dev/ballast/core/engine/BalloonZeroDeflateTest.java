package dev.ballast.core.engine;

import static dev.ballast.core.engine.MigrationEngineTest.oneBlock;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.MigrationEngineTest.Harness;
import dev.ballast.core.event.EventType;
import dev.ballast.core.policy.BalloonZeroPolicy;
import dev.ballast.core.policy.CommandIds;
import org.junit.jupiter.api.Test;

/**
 * {@code balloon-zero} sends a ballooned page as a zero record without reading it and re-arms its
 * dirty tracking. On a guest that runs beside the engine (KVM) a deflate can be answered by the
 * device, and the page written by the guest, while the engine is in a step it began before the
 * deflate reached its queue: the step's walk zero-sends the page (clearing the write's dirty bit)
 * and the engine hears of the deflate only at its next step. The engine must then send the page
 * again. Found by {@code KvmProperties}: {@code ./ballast run --backend kvm --mem 48M --workload
 * deflate-race:13,step=4M,every=1ms,late=25ms,used=45%,rate=9MiB/s --policy balloon-zero --seed
 * 7788513} lost 1,000–2,500 pages in four runs of six.
 */
class BalloonZeroDeflateTest {
    /** 64 pages a step, so a pass over 2048 pages takes 32 steps and the guest can act inside one. */
    static EngineConfig cfg(int requestsPerStep) {
        return new EngineConfig(0, 300_000_000L, 30, 0, CommandIds.MIN, 64, requestsPerStep, 8);
    }

    /** A guest whose balloon holds [1024, 2048) when the migration starts, [0, 1024) written. */
    static FakeGuest ballooned(FakeGuest g) {
        g.balloonNow.setRange(1024, 2048);
        for (int i = 0; i < 1024; i++) g.write(i);
        return g;
    }

    @Test
    void aPageDeflatedAndWrittenWhileTheStepWalksItIsSentAgainWithItsWrite() {
        // The step that walks 1472..1535: the guest deflates 1500 while the walk is at 1499 (the device answers at
        // once) and writes it; the walk reaches 1500 still ballooned in the engine's view.
        FakeGuest g = ballooned(new FakeGuest(oneBlock(2048)) {
            boolean raced;

            @Override
            public void clearDirty(int block, long offset, long count) {
                super.clearDirty(block, offset, count);
                if (!raced && offset <= 1499 && 1499 < offset + count) {
                    raced = true;
                    request(EventType.BALLOON_DEFLATE, EventType.Balloon.PFNS, 1500, 1);
                    write(1500);
                }
            }
        });
        g.balloonNow.clear(1499);
        g.write(1499);
        Harness h = new Harness(g, new BalloonZeroPolicy(), cfg(1024)).run();
        assertThat(h.link.content[1500])
                .as("the guest's write after the deflate")
                .isEqualTo(g.content[1500])
                .isNotZero();
        assertThat(h.engine.stats().resent()).as("page 1500, once").isEqualTo(1);
    }

    @Test
    void aDeflateHeardOfAfterTheStopAndCopyPassWalkedItsPageStillSendsThePage() {
        // The guest deflates 1500 and writes it just before the pause; its message waits behind three others (the
        // engine takes one request a step), so the stop-and-copy pass walks 1500 (dirty, still ballooned in the
        // engine's view) before it hears of the deflate: the pass must go back for it.
        FakeGuest g = new FakeGuest(oneBlock(2048));
        g.balloonNow.setRange(512, 1536);
        for (int i = 0; i < 512; i++) g.write(i);
        for (int i = 1536; i < 2048; i++) g.write(i);
        g.beforeEachSync = x -> {
            if (x.running) return;
            x.write(1500);
            for (int i = 1536; i < 2048; i++) x.write(i); // eight steps of the pass after 1500
            for (int k = 0; k < 3; k++) x.request(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, 600 + k, 1);
            x.request(EventType.BALLOON_DEFLATE, EventType.Balloon.PFNS, 1500, 1);
        };
        Harness h = new Harness(g, new BalloonZeroPolicy(), cfg(1)).run();
        assertThat(h.engine.phase()).isEqualTo(Phase.COMPLETED);
        assertThat(h.link.content[1500])
                .as("the guest's write before the pause")
                .isEqualTo(g.content[1500])
                .isNotZero();
    }

    @Test
    void aBalloonedPageNeverDeflatedIsSentOnceAsZero() {
        Harness h = new Harness(ballooned(new FakeGuest(oneBlock(2048))), new BalloonZeroPolicy(), cfg(1024)).run();
        assertThat(h.link.received.countRange(1024, 2048)).isEqualTo(1024);
        assertThat(h.engine.stats().pagesZero()).isEqualTo(1024);
        assertThat(h.engine.stats().resent()).isZero();
    }
}
