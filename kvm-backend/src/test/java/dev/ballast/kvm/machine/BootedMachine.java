package dev.ballast.kvm.machine;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.testing.KvmTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A 64 MiB machine with the guest program booted before each test and closed after it (skipped without KVM). */
abstract class BootedMachine {
    protected Kvm kvm;
    protected KvmMachine machine;

    @BeforeEach
    void boot() {
        KvmTests.assumeKvm();
        kvm = Kvm.open();
        machine = KvmMachine.create(kvm, MachineConfig.ofRam(64 * GuestLayout.MIB));
        machine.boot();
    }

    @AfterEach
    void close() {
        if (machine != null) {
            machine.close();
        }
        if (kvm != null) {
            kvm.close();
        }
    }
}
