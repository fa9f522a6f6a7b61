package dev.ballast.kvm.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.SettingException;
import org.junit.jupiter.api.Test;

/** What the kvm backend refuses before any VM exists (no /dev/kvm needed). */
class KvmBackendCheckTest {
    @Test
    void shouldRunEveryBuiltInPolicyBalloonZeroIncluded() {
        assertThat(KvmBackend.POLICIES)
                .containsExactlyElementsOf(Policies.BUILT_IN)
                .contains("balloon-zero");
        assertThatCode(() -> new KvmBackend()
                        .check(
                                KvmMigrationTest.scenario(64L << 20, "deflate-race:20", "balloon-zero"),
                                BackendOptions.DEFAULTS))
                .doesNotThrowAnyException();
    }

    @Test
    void shouldRefuseADeflateRaceThatWaitsForAPostcopySwitchOver() {
        assertThatThrownBy(() -> new KvmBackend()
                        .check(
                                KvmMigrationTest.scenario(64L << 20, "deflate-race:20,from=switch-over", "balloon"),
                                BackendOptions.DEFAULTS))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("from=switch-over is the simulator's");
    }
}
