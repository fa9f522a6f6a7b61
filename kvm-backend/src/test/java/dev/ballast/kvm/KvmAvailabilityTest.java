package dev.ballast.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KvmAvailabilityTest {
    @Test
    void shouldSayWhyWhenTheDeviceDoesNotExist() {
        KvmAvailability a = KvmAvailability.probe("/dev/no-such-kvm");
        assertThat(a.usable()).isFalse();
        assertThat(a.reason())
                .isEqualTo("/dev/no-such-kvm does not exist: no KVM on this machine (or it is not passed"
                        + " into this container)");
    }

    @Test
    void shouldSayWhyWhenTheDeviceIsNotKvm() {
        KvmAvailability a = KvmAvailability.probe("/dev/null");
        assertThat(a.usable()).isFalse();
        assertThat(a.reason()).startsWith("/dev/null is not usable: KVM_GET_API_VERSION failed: ENOTTY (25)");
    }

    @Test
    void shouldGiveNoReasonWhenUsable() {
        KvmAvailability a = KvmAvailability.check();
        assertThat(a.reason().isEmpty()).isEqualTo(a.usable());
        System.out.println("KVM availability here: " + (a.usable() ? "usable" : a.reason()));
    }
}
