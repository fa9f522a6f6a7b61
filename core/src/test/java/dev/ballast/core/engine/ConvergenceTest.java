package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConvergenceTest {
    private static final long MS = 1_000_000L;

    @ParameterizedTest(name = "{0} bytes at {1} B/s, limit {2} ms, pass {3}/{4}, {5} ms of {6} ms -> {7}")
    @CsvSource({
        // remaining, bandwidth, downtime ms, iteration, max, elapsed ms, cap ms, decision
        "0,          0,          300, 1, 30,     0,    0, CONVERGED",
        "1000000,    1e9,        300, 1, 30,     0,    0, CONVERGED",
        "300000000,  1e9,        300, 1, 30,     0,    0, CONVERGED",
        "300000001,  1e9,        300, 1, 30,     0,    0, CONTINUE",
        "4000000000, 1e9,       2000, 5, 30,     0,    0, CONTINUE",
        "4000000000, 1e9,       2000, 30, 30,    0,    0, ITERATION_CAP",
        "4000000000, 1e9,       2000, 3, 30,  9000, 8000, TIME_CAP",
        "4000000000, 1e9,       2000, 3, 30,  7000, 8000, CONTINUE",
        "4000000000, 1e9,       2000, 3, 30,  8000, 8000, TIME_CAP",
        "1,          0,          300, 1, 30,     0,    0, CONTINUE",
        "1,          0,          300, 1,  1,     0,    0, ITERATION_CAP",
    })
    void shouldDecide(
            long remaining,
            double bandwidth,
            long downtimeMs,
            int iteration,
            int max,
            long elapsedMs,
            long capMs,
            Convergence.Decision expected) {
        assertThat(Convergence.decide(
                        remaining, bandwidth, downtimeMs * MS, iteration, max, elapsedMs * MS, capMs * MS))
                .isEqualTo(expected);
    }

    @org.junit.jupiter.api.Test
    void shouldCountTheFinalSyncInTheEstimate() {
        // 100 MB at 1 GB/s is 100 ms; with a 250 ms sync the downtime is 350 ms, over a 300 ms limit
        assertThat(Convergence.expectedDowntimeNs(100_000_000, 1e9, 250_000_000))
                .isEqualTo(350_000_000);
        assertThat(Convergence.decide(100_000_000, 1e9, 250_000_000, 300_000_000, 2, 30, 0, 0))
                .isEqualTo(Convergence.Decision.CONTINUE);
        assertThat(Convergence.decide(100_000_000, 1e9, 0, 300_000_000, 2, 30, 0, 0))
                .isEqualTo(Convergence.Decision.CONVERGED);
        assertThat(Convergence.decide(100_000_000, 1e9, 200_000_000, 300_000_000, 2, 30, 0, 0))
                .isEqualTo(Convergence.Decision.CONVERGED);
        assertThat(Convergence.expectedDowntimeNs(100, 0, 5)).isEqualTo(-1);
        assertThat(Convergence.expectedDowntimeNs(0, 0, 5)).isEqualTo(5);
    }
}
