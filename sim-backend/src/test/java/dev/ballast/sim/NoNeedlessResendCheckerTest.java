package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Invariant 3: a page goes again only if it was written after it last went. */
class NoNeedlessResendCheckerTest {
    @ParameterizedTest
    @CsvSource({"10", "16", "21"})
    void shouldNotResendAHintedPageThatTheGuestPoisonedBeforeItsReport(long seed) {
        // the guest frees (and so poisons: a write) pages while it migrates, then reports them free
        // and holds them; the dirty bit of the poisoning must not send them again after their fill
        Scenario s = Scenario.sim(64 * M, "compile,churn=800MiB/s,ws=30%", "hint", seed)
                .withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID)
                .withLimits(1_000_000_000L, 5_000_000L, 8, 0);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    private static final RamLayout LAYOUT = RamLayout.pcLike(16 * M);

    @Test
    void shouldCallAResendOfAnUnwrittenPageNeedless() {
        var violations = new Violations();
        var c = new NoNeedlessResendChecker(LAYOUT, violations);
        c.onSent(5, 6);
        c.onSent(5, 6);
        assertThat(violations.first()).startsWith(Invariant.NO_NEEDLESS_RESEND.violation(""));
    }

    @Test
    void shouldLetALogClearedOnlyBySyncsResendAPageWrittenBetweenTheSyncAndItsSend() {
        // the write lands after the sync and before the send: the host's log still holds it, and the next sync
        // reports it, so the next pass sends the page again though the first send carried the write
        var violations = new Violations();
        var c = new NoNeedlessResendChecker(LAYOUT, violations);
        c.logClearedBySyncOnly();
        c.onSync();
        c.onWrite(5);
        c.onSent(5, 6);
        c.onSync();
        c.onSent(5, 6);
        assertThat(violations.any()).as(violations.first()).isFalse();

        // a failed migration gave a page it had taken from the log but not sent back to the log: the same
        c.onRestored(6, 7);
        c.onSent(6, 7);
        c.onSync();
        c.onSent(6, 7);
        assertThat(violations.any()).as(violations.first()).isFalse();

        // but once a sync came between the send and the next one with no write, that one is needless again
        c.onSync();
        c.onSent(5, 6);
        assertThat(violations.first()).startsWith(Invariant.NO_NEEDLESS_RESEND.violation(""));
    }

    @Test
    void shouldKeepTheRuleForALogReArmedRangeByRange() {
        // the default host re-arms a range just before it reads it: a write before the send is in the content sent
        var violations = new Violations();
        var c = new NoNeedlessResendChecker(LAYOUT, violations);
        c.onSync();
        c.onWrite(5);
        c.onSent(5, 6);
        c.onSync();
        c.onSent(5, 6);
        assertThat(violations.any()).isTrue();
    }
}
