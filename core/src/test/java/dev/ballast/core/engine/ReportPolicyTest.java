package dev.ballast.core.engine;

import static dev.ballast.core.engine.MigrationEngineTest.oneBlock;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.MigrationEngineTest.Harness;
import dev.ballast.core.event.EventType;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.policy.HintReportPolicy;
import dev.ballast.core.policy.MigrationPolicy;
import dev.ballast.core.policy.ReportPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code report}: a page still to be sent that the host discarded after the latest dirty-log sync is not sent, and
 * its dirty log is left alone; a discard the host did before the latest sync is not used, because that sync may have
 * reported a write made after the discard.
 */
class ReportPolicyTest {
    static EngineConfig cfg() {
        return new EngineConfig(0, 300_000_000L, 30, 0, CommandIds.MIN, 64, 1024, 8);
    }

    static MigrationPolicy policy(String name) {
        return name.equals("report") ? new ReportPolicy() : new HintReportPolicy();
    }

    static long events(Harness h, EventType type) {
        long n = 0;
        for (long[] e : h.events) if (e[0] == type.ordinal()) n += e[4];
        return n;
    }

    @ParameterizedTest
    @ValueSource(strings = {"report", "hint+report"})
    void aDiscardAfterTheLatestSyncSkipsItsPagesAndAWriteSinceStillGoes(String name) {
        // Every page written before the migration; at the end of the bulk pass the guest writes [1024, 1536) again
        // (sync 1 reports them), frees them, and the host discards them after that sync (tag 1). Then the guest takes
        // page 1200 back and writes it: the next sync reports it.
        FakeGuest g = new FakeGuest(oneBlock(2048)) {
            @Override
            public void syncDirtyLog(PageRanges out) {
                if (syncs == 0) for (int i = 1024; i < 1536; i++) write(i);
                super.syncDirtyLog(out);
                if (syncs == 1) {
                    java.util.Arrays.fill(content, 1024, 1536, 0);
                    request(EventType.HOST_ZEROED, 1, 1024, 512);
                    write(1200);
                }
            }
        };
        g.features = new GuestFeatures(true, false, false, 0);
        for (int i = 0; i < 2048; i++) g.write(i);
        Harness h = new Harness(g, policy(name), cfg()).run();
        assertThat(h.engine.phase()).isEqualTo(Phase.COMPLETED);
        assertThat(events(h, EventType.SKIP_ZEROED)).isEqualTo(512);
        assertThat(h.engine.stats().skippedFree())
                .as("the 512 pages sync 1 reported")
                .isEqualTo(512);
        assertThat(h.link.content[1200]).as("the write after the discard").isEqualTo(g.content[1200]);
        assertThat(h.engine.stats().resent()).as("page 1200 only").isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"report", "hint+report"})
    void aDiscardFromBeforeTheLatestSyncIsNotUsed(String name) {
        // The host discards [1024, 1536) before sync 1 (tag 0) and the guest writes page 1100 right after; the notice
        // reaches the engine after sync 1, which reported that write. Using it would lose the write.
        FakeGuest g = new FakeGuest(oneBlock(2048)) {
            @Override
            public void syncDirtyLog(PageRanges out) {
                if (syncs == 0) {
                    java.util.Arrays.fill(content, 1024, 1536, 0);
                    write(1100);
                    request(EventType.HOST_ZEROED, 0, 1024, 512);
                }
                super.syncDirtyLog(out);
            }
        };
        g.features = new GuestFeatures(true, false, false, 0);
        for (int i = 0; i < 1024; i++) g.write(i);
        Harness h = new Harness(g, policy(name), cfg()).run();
        assertThat(h.engine.phase()).isEqualTo(Phase.COMPLETED);
        assertThat(h.link.content[1100])
                .as("the write after the discard")
                .isEqualTo(g.content[1100])
                .isNotZero();
        assertThat(events(h, EventType.SKIP_ZEROED)).isZero();
    }

    @Test
    void nothingIsSkippedUnderPoisoning() {
        FakeGuest g = new FakeGuest(oneBlock(2048)) {
            @Override
            public void syncDirtyLog(PageRanges out) {
                super.syncDirtyLog(out);
                if (syncs == 1) request(EventType.HOST_ZEROED, 1, 1024, 512);
            }
        };
        g.features = new GuestFeatures(true, false, false, 0xAA);
        for (int i = 0; i < 2048; i++) g.write(i);
        Harness h = new Harness(g, new ReportPolicy(), cfg()).run();
        assertThat(events(h, EventType.SKIP_ZEROED)).isZero();
    }
}
