package dev.ballast.sim;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SimBackendTest {
    @Test
    void shouldRunASimScenarioThroughTheBackendSeamWithItsEventsAndProgress() {
        Backend b = new SimBackend();
        assertThat(b.name()).isEqualTo("sim");
        long[] events = {0};
        List<String> phases = new ArrayList<>();
        RunReport r = b.run(Scenario.sim(8L << 30, "idle", "legacy", 1), (type, t, a, bb, c) -> events[0]++,
                (phase, iteration, passProgress, bytes) -> phases.add(phase));
        assertThat(r.backend()).isEqualTo("sim");
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(events[0]).isGreaterThan(100);
        assertThat(phases).isNotEmpty();
    }
}
