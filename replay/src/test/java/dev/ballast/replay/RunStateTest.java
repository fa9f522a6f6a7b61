package dev.ballast.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimRun;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RunStateTest {
    private static final long M = 1L << 20;

    @ParameterizedTest
    @CsvSource({"idle,legacy,0", "memhog,hint,0", "memhog,hint,170", "deflate-race,hint+balloon,0", "compile,bitmap,0"})
    void shouldCountWhatTheEngineCounted(String workload, String policy, int poison) {
        Scenario s = Scenario.sim(512 * M, workload, policy, 3).withGuest(poison, true, "pfn", Scenario.MIN_COMMAND_ID);
        ReplayTest.Recording rec = new ReplayTest.Recording();
        RunReport r = new SimRun(s, s.layout(), SimRun.Hooks.NONE, rec, Backend.Progress.NONE).run();
        RunState state = new RunState(RunManifest.of(s));
        int half = rec.events.size() / 2;
        RunState restored = null;
        for (int i = 0; i < rec.events.size(); i++) {
            long[] e = rec.events.get(i);
            state.apply(i, EventType.byId((int) e[0]), e[1], e[2], e[3], e[4]);
            if (i == half) restored = RunState.restore(RunManifest.of(s), state.snapshot());
            else if (restored != null) restored.apply(i, EventType.byId((int) e[0]), e[1], e[2], e[3], e[4]);
        }
        assertThat(state.pagesLeft()).isZero();
        assertThat(state.describe())
                .contains("sent          " + r.pages().normal() + " with data, "
                        + r.pages().zero() + " zero, " + r.transferredBytes() + " bytes");
        assertThat(state.describe())
                .contains("skipped       " + r.pages().skippedBalloon() + " in the balloon, "
                        + r.pages().skippedFree());
        assertThat(restored.describe()).isEqualTo(state.describe());
    }
}
