package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunReportsTest {

    private static EngineStats stats(long base) {
        return new EngineStats(
                Phase.COMPLETED,
                2,
                3,
                1_000_000_000L,
                5_000_000L,
                20_000_000L,
                100 * base,
                base,
                2 * base,
                3 * base,
                4 * base,
                5 * base,
                6 * base,
                7 * base,
                8 * base,
                9 * base,
                10 * base,
                11 * base,
                12 * base,
                13 * base,
                base == 2,
                null,
                null,
                1e9);
    }

    private static RunReport hop(Scenario s, long base, boolean ok, String violation) {
        return RunReports.hop(
                s,
                "virtual",
                stats(base),
                stats(base),
                1_000_000_000L,
                new RunReport.Verify(1000 * base, ok ? 0 : 1, ok, violation),
                List.of(new RunReport.Attempt("completed", null, 1000, 100 * base)));
    }

    @Test
    void shouldAddAChainsHopsFigureByFigure() {
        Scenario s = Scenario.sim(1L << 30, "idle", "legacy", 1).withChain(2);
        RunReport r = RunReports.run(s, List.of(hop(s, 1, true, null), hop(s, 2, true, null)), null, 5);
        assertThat(r.totalTimeMs()).isEqualTo(2000.0);
        assertThat(r.downtimeMs()).isEqualTo(40.0);
        assertThat(r.setupTimeMs()).isEqualTo(10.0);
        assertThat(r.iterations()).isEqualTo(4);
        assertThat(r.transferredBytes()).isEqualTo(300);
        assertThat(r.pages()).isEqualTo(new RunReport.Pages(3, 6, 9, 12, 15));
        assertThat(r.hints()).isEqualTo(new RunReport.Hints(18, 21, 24, 12, 27));
        assertThat(r.balloon().inflatedPages()).isEqualTo(33);
        assertThat(r.balloon().deflatedPages()).isEqualTo(36);
        assertThat(r.balloon().rejected()).isEqualTo(39);
        assertThat(r.balloon().skipActive()).as("the last hop's").isTrue();
        assertThat(r.verify()).isEqualTo(new RunReport.Verify(3000, 0, true, null));
        assertThat(r.attempts()).hasSize(2);
        assertThat(r.hops()).hasSize(2);
        assertThat(r.outcome()).isEqualTo("completed");
    }

    @Test
    void shouldFailTheChainsCheckWhenOneHopFailedOrTheRunBrokeAnInvariant() {
        Scenario s = Scenario.sim(1L << 30, "idle", "legacy", 1).withChain(2);
        RunReport bad = RunReports.run(s, List.of(hop(s, 1, false, "hop 1's"), hop(s, 2, true, null)), "the run's", 5);
        assertThat(bad.verify()).isEqualTo(new RunReport.Verify(3000, 1, false, "the run's"));
        RunReport ok = RunReports.run(s, List.of(hop(s, 1, true, null), hop(s, 2, true, null)), "the run's", 5);
        assertThat(ok.verify().ok()).isFalse();
    }

    @Test
    void shouldTakeTimeOutOfTotalAndDowntimeButNotBelowZero() {
        EngineStats e = stats(1).withTimeExcluded(15_000_000L);
        assertThat(e.totalNs()).isEqualTo(985_000_000L);
        assertThat(e.downtimeNs()).isEqualTo(5_000_000L);
        assertThat(e.setupNs()).isEqualTo(5_000_000L);
        assertThat(e)
                .usingRecursiveComparison()
                .ignoringFields("totalNs", "downtimeNs")
                .isEqualTo(stats(1));
        assertThat(stats(1).withTimeExcluded(30_000_000L).downtimeNs()).isZero();
    }
}
