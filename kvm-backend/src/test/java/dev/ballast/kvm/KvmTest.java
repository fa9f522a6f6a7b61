package dev.ballast.kvm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.KvmIoctls;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import dev.ballast.kvm.testing.KvmTests;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class KvmTest {
    @BeforeEach
    void needsKvm() {
        KvmTests.assumeKvm();
    }

    @Test
    void shouldOpenAndReportCapabilities() {
        try (Kvm kvm = Kvm.open()) {
            assertThat(kvm.checkExtension(KvmConstants.KVM_CAP_USER_MEMORY)).isPositive();
            assertThat(kvm.checkExtension(KvmConstants.KVM_CAP_IMMEDIATE_EXIT)).isPositive();
            assertThat(kvm.vcpuMmapSize()).isGreaterThanOrEqualTo(4096);
        }
    }

    @Test
    void shouldNameTheIoctlAndErrnoWhenAnIoctlFails() {
        // A VM-only ioctl on the system fd: the system fd does not know it.
        try (Kvm kvm = Kvm.open()) {
            assertThatThrownBy(() -> LibC.ioctl(kvm.fd(), KvmIoctls.Vm.KVM_CREATE_VCPU, 0L))
                    .isInstanceOf(NativeException.class)
                    .hasMessageMatching("KVM_CREATE_VCPU failed: E[A-Z]+ \\(\\d+\\)")
                    .satisfies(e -> assertThat(((NativeException) e).call()).isEqualTo("KVM_CREATE_VCPU"));
        }
    }

    @Test
    void shouldRejectAnUnknownIoctlWithEinvalOnTheSystemFd() {
        try (Kvm kvm = Kvm.open()) {
            KvmIoctls.Request bogus = new KvmIoctls.Request("KVM_BOGUS", 0xAEFFL);
            assertThatThrownBy(() -> LibC.ioctl(kvm.fd(), bogus, 0L))
                    .isInstanceOf(NativeException.class)
                    .hasMessage("KVM_BOGUS failed: EINVAL (22)")
                    .satisfies(e -> assertThat(((NativeException) e).errno()).isEqualTo(Errno.EINVAL));
        }
    }

    @Test
    void shouldNameTheCallWhenOpenFails() {
        assertThatThrownBy(() -> LibC.open("/dev/no-such-kvm", LibC.O_RDWR))
                .isInstanceOf(NativeException.class)
                .hasMessage("open(/dev/no-such-kvm) failed: ENOENT (2)");
    }

    @Test
    void shouldCreateAndCloseVmsAndVcpusInFdOrder() {
        try (Kvm kvm = Kvm.open()) {
            KvmVm vm = kvm.createVm();
            KvmVcpu vcpu = vm.createVcpu(0);
            assertThat(vcpu.getRegs().rip()).isEqualTo(0xfff0L); // reset vector
            KvmVm other = kvm.createVm();
            other.close();
            // closing the system fd closes the VM and its vCPU
        }
    }
}
