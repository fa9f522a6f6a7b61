package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
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
}
