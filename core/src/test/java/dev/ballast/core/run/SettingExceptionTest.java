package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SettingExceptionTest {
    @Test
    void shouldSayNameValueAndRuleInItsMessage() {
        assertThat(new SettingException("chain", "0", "must be in [1, 64]")).hasMessage("chain=0: must be in [1, 64]");
        assertThat(new SettingException("prealloc", null, "needs a destination VM"))
                .hasMessage("prealloc: needs a destination VM");
    }

    @Test
    void shouldBeWhatTheScenarioThrowsForEveryBadSetting() {
        Scenario s = Scenario.sim(1L << 30, "idle", "legacy", 1);
        assertThatThrownBy(() -> s.withChain(0)).isInstanceOfSatisfying(SettingException.class, e -> {
            assertThat(e.name()).isEqualTo("chain");
            assertThat(e.value()).isEqualTo("0");
            assertThat(e.rule()).isEqualTo("must be in [1, 64]");
        });
        assertThatThrownBy(() -> s.withGuest(0, true, "morse", Scenario.MIN_COMMAND_ID))
                .isInstanceOf(SettingException.class)
                .hasMessage("balloon-messages=morse: expected pfn (PFN arrays) or bitmap");
        assertThatThrownBy(() -> WorkloadSpec.parse("hog")).isInstanceOf(SettingException.class);
    }

    @Test
    void shouldLeaveTheBackendsNamesToTheBackends() {
        assertThat(Scenario.sim(1L << 30, "idle", "legacy", 1))
                .extracting(Scenario::backend)
                .isEqualTo("sim");
        Scenario other = new Scenario(
                "qemu",
                1L << 30,
                WorkloadSpec.parse("idle"),
                "hint",
                1,
                0,
                300_000_000L,
                30,
                0,
                1,
                null,
                0,
                true,
                BalloonMessages.PFN,
                Scenario.MIN_COMMAND_ID,
                CostProfile.defaults());
        assertThat(other.backend()).isEqualTo("qemu");
    }
}
