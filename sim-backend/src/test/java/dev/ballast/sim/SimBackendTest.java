package dev.ballast.sim;

import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimBackendTest {
    final SimBackend sim = new SimBackend();
    final Scenario s = Scenario.sim(64L << 20, "idle", "hint", 1);

    @Test
    void shouldTakeAScenarioWithItsDefaultOptions() {
        sim.check(s, BackendOptions.DEFAULTS);
        assertThat(sim.name()).isEqualTo("sim");
        assertThat(sim.defaultBandwidthBitsPerSec()).isEqualTo(10_000_000_000L);
        assertThat(sim.usesCostProfile()).isTrue();
    }

    @Test
    void shouldRefuseWhatItsDestinationCannotDo() {
        assertThatThrownBy(() -> sim.check(s, new BackendOptions(true, null))).isInstanceOf(SettingException.class)
                .hasMessage("prealloc: needs --backend kvm (the simulator's destination allocates nothing)");
        var remote = new BackendOptions.Destination(new InetSocketAddress("127.0.0.1", 9), null, 0);
        assertThatThrownBy(() -> sim.check(s, new BackendOptions(false, remote))).isInstanceOf(SettingException.class)
                .hasMessageStartingWith("dest: needs --backend kvm");
    }

    @Test
    void shouldRefuseAGuestOver2TAndAnUnknownPolicyBeforeRunning() {
        assertThatThrownBy(() -> sim.check(Scenario.sim(4L << 40, "idle", "hint", 1), BackendOptions.DEFAULTS))
                .isInstanceOfSatisfying(SettingException.class, e -> assertThat(e.name()).isEqualTo("mem"))
                .hasMessageEndingWith("the simulator holds at most 2T");
        assertThatThrownBy(() -> sim.check(s.withPolicy("teleport"), BackendOptions.DEFAULTS))
                .isInstanceOfSatisfying(SettingException.class, e -> assertThat(e.name()).isEqualTo("policy"));
    }
}
