package dev.ballast.core.engine;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

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
            "1,          0,          300, 1, 30,     0,    0, CONTINUE",
            "1,          0,          300, 1,  1,     0,    0, ITERATION_CAP",
    })
    void shouldDecide(long remaining, double bandwidth, long downtimeMs, int iteration, int max, long elapsedMs, long capMs,
                      Convergence.Decision expected) {
        assertThat(Convergence.decide(remaining, bandwidth, downtimeMs * MS, iteration, max, elapsedMs * MS, capMs * MS))
                .isEqualTo(expected);
    }
}
