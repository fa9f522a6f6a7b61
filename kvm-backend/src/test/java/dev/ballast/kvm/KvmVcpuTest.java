package dev.ballast.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.GuestImage;
import dev.ballast.kvm.guestabi.SystemSlot;
import dev.ballast.kvm.mem.DirtyLogMode;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.GuestMemory;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** KVM_RUN and its exits, on hand-assembled code run at CPL 3 from guest RAM (no vCPU thread). */
class KvmVcpuTest {
    private static final long CODE_GPA = 0x10000;

    private Kvm kvm;
    private KvmVm vm;
    private GuestMemory memory;
    private KvmVcpu vcpu;

    @BeforeEach
    void setUp() {
        KvmTests.assumeKvm();
        kvm = Kvm.open();
        vm = kvm.createVm();
        GuestLayout layout = GuestLayout.forRam(4 * GuestLayout.MIB);
        memory = GuestMemory.create(vm, layout, DirtyLogMode.GET);
        SystemSlot.install(memory.system().host(), layout, GuestImage.load(), 1000);
        vcpu = vm.createVcpu(0);
        try (Arena arena = Arena.ofConfined()) {
            vcpu.setCpuid(kvm.supportedCpuid(arena));
        }
        vcpu.setSregs(SystemSlot.longModeSregs(vcpu.getSregs()));
    }

    @AfterEach
    void tearDown() {
        if (kvm != null) {
            kvm.close();
        }
        if (memory != null) {
            memory.close();
        }
    }

    private void load(int... code) {
        MemorySegment ram = memory.block(GuestLayout.RAM_LOW).host();
        for (int i = 0; i < code.length; i++) {
            ram.set(java.lang.foreign.ValueLayout.JAVA_BYTE, CODE_GPA + i, (byte) code[i]);
        }
        vcpu.setRegs(Regs.entry(CODE_GPA, 0x20000, Regs.RFLAGS_FIXED));
    }

    @Test
    void shouldDecodeOutInAndShutdownExits() {
        load(
                0xB0, 0xAB, // mov $0xab, %al
                0xE6, 0x10, // out %al, $0x10
                0x66, 0xB8, 0x34, 0x12, // mov $0x1234, %ax
                0x66, 0xE7, 0x11, // out %ax, $0x11
                0xE4, 0x12, // in $0x12, %al
                0xE6, 0x13, // out %al, $0x13
                0xF4); // hlt: privileged at CPL 3 -> #GP -> no IDT -> triple fault
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.IoOut(0x10, 1, 1, 0xAB));
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.IoOut(0x11, 2, 1, 0x1234));
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.IoIn(0x12, 1, 1));
        vcpu.completeIoIn(0x5A);
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.IoOut(0x13, 1, 1, 0x5A));
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.Shutdown());
    }

    @Test
    void shouldRefusePortsTheTssBitmapDoesNotOpen() {
        load(
                0xE6,
                GuestAbi.PORT_NOP, // out %al, $PORT_NOP: open
                0xE6,
                0x20); // out %al, $0x20: closed -> #GP -> shutdown
        assertThat(vcpu.run()).isInstanceOf(VcpuExit.IoOut.class);
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.Shutdown());
    }

    @Test
    void shouldReturnInterruptedWithImmediateExitAndRunNoInstruction() {
        load(0xE6, 0x10, 0xEB, 0xFC); // 1: out %al, $0x10; jmp 1b
        vcpu.setImmediateExit(true);
        assertThat(vcpu.run()).isEqualTo(new VcpuExit.Interrupted());
        assertThat(vcpu.getRegs().rip()).isEqualTo(CODE_GPA);
        vcpu.setImmediateExit(false);
        assertThat(vcpu.run()).isInstanceOf(VcpuExit.IoOut.class);
    }

    @Test
    void shouldRunAtCpl3InLongMode() {
        load(0xEB, 0xFE); // jmp .
        Sregs s = vcpu.getSregs();
        assertThat(s.cs().l()).isTrue();
        assertThat(s.cs().dpl()).isEqualTo(3);
        assertThat(s.ss().dpl()).isEqualTo(3);
        assertThat(s.efer() & SystemSlot.EFER_LMA).isNotZero();
        assertThat(s.cr0() & SystemSlot.CR0_PG).isNotZero();
    }
}
