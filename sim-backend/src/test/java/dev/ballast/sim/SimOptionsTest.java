package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.run.DriverOptions;
import org.junit.jupiter.api.Test;

class SimOptionsTest {
    @Test
    void shouldDefaultToWhatEveryRunUses() {
        SimOptions d = SimOptions.DEFAULTS;
        assertThat(d.driver()).isEqualTo(new DriverOptions(4, 100_000_000L, 200_000_000L));
        assertThat(d.tickNs()).isEqualTo(1_000_000L);
        assertThat(d.hintOrder()).isEqualTo(10);
        assertThat(d.hintBlocksPerSec()).isEqualTo(1e6);
        assertThat(d.hintDeliveryNs()).isEqualTo(1_500_000L);
    }

    @Test
    void shouldChangeOnlyTheHintDriver() {
        SimOptions slow = SimOptions.DEFAULTS.withHintDriver(6, 2_000);
        assertThat(slow)
                .isEqualTo(
                        new SimOptions(DriverOptions.DEFAULTS, 1_000_000L, 50_000_000L, 1_000L, 6, 2_000, 1_500_000L));
    }

    @Test
    void shouldRefuseKnobsThatCannotBe() {
        assertThatThrownBy(() -> SimOptions.DEFAULTS.withHintDriver(19, 1))
                .hasMessage("hintOrder=19 must be in [0, 18]");
        assertThatThrownBy(() -> SimOptions.DEFAULTS.withHintDriver(4, 0))
                .hasMessage("hintBlocksPerSec=0.0 must be > 0");
        assertThatThrownBy(() -> DriverOptions.DEFAULTS.withMaxAttempts(0)).hasMessage("maxAttempts=0 must be >= 1");
    }
}
