package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimBackendTest {
    final SimBackend sim = new SimBackend();
    final Scenario s = Scenario.sim(64L << 20, "idle", "hint", 1);

    @Test
    void shouldRunASimScenarioThroughTheBackendSeamWithItsEventsAndProgress() {
        Backend b = new SimBackend();
        assertThat(b.name()).isEqualTo("sim");
        long[] events = {0};
        List<String> phases = new ArrayList<>();
        RunReport r = b.run(
                Scenario.sim(8L << 30, "idle", "legacy", 1),
                BackendOptions.DEFAULTS,
                (type, t, a, bb, c) -> events[0]++,
                (phase, iteration, passProgress, bytes) -> phases.add(phase));
        assertThat(r.backend()).isEqualTo("sim");
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(events[0]).isGreaterThan(100);
        assertThat(phases).isNotEmpty();
    }

    @Test
    void shouldTakeAScenarioWithItsDefaultOptions() {
        sim.check(s, BackendOptions.DEFAULTS);
        assertThat(sim.name()).isEqualTo("sim");
        assertThat(sim.defaultBandwidthBitsPerSec()).isEqualTo(10_000_000_000L);
        assertThat(sim.usesCostProfile()).isTrue();
    }

    @Test
    void shouldRefuseWhatItsDestinationCannotDo() {
        assertThatThrownBy(() -> sim.check(s, new BackendOptions(true, null)))
                .isInstanceOf(SettingException.class)
                .hasMessage("prealloc: needs --backend kvm (the simulator's destination allocates nothing)");
        var remote = new BackendOptions.Destination(new InetSocketAddress("127.0.0.1", 9), null, 0);
        assertThatThrownBy(() -> sim.check(s, new BackendOptions(false, remote)))
                .isInstanceOf(SettingException.class)
                .hasMessageStartingWith("dest: needs --backend kvm");
    }

    @Test
    void shouldRefuseAGuestOver2TAndAnUnknownPolicyBeforeRunning() {
        assertThatThrownBy(() -> sim.check(Scenario.sim(4L << 40, "idle", "hint", 1), BackendOptions.DEFAULTS))
                .isInstanceOfSatisfying(
                        SettingException.class, e -> assertThat(e.name()).isEqualTo("mem"))
                .hasMessageEndingWith("the simulator holds at most 2T");
        assertThatThrownBy(() -> sim.check(s.withPolicy("teleport"), BackendOptions.DEFAULTS))
                .isInstanceOfSatisfying(
                        SettingException.class, e -> assertThat(e.name()).isEqualTo("policy"));
    }
}
