package dev.ballast.cli;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BackendsTest {
    @Test
    void shouldFindBackendsRegisteredAsServices() {
        // FakeBackend is registered in META-INF/services of the test class path, as "fake".
        assertThat(Backends.discover().get("fake")).isInstanceOf(FakeBackend.class);
    }

    @Test
    void shouldNameTheBackendsThereAreWhenOneIsMissing() {
        assertThatThrownBy(() -> Backends.of(new FakeBackend("sim")).get("kvm"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--backend kvm: no such backend in this build (available: sim)");
    }
}
