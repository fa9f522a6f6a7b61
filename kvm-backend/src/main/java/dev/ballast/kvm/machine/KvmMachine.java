package dev.ballast.kvm.machine;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.KvmVcpu;
import dev.ballast.kvm.KvmVm;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guestabi.GuestChannel;
import dev.ballast.kvm.guestabi.GuestImage;
import dev.ballast.kvm.guestabi.SystemSlot;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.GuestMemory;
import java.lang.foreign.Arena;

/**
 * One guest: a VM with its memory slots, one vCPU on its own thread, and the channel to the
 * guest program. {@link #boot()} starts a fresh guest; {@link #start(VcpuState)} continues one
 * whose memory was copied in (a migration destination).
 */
public final class KvmMachine implements AutoCloseable {
    private final MachineConfig config;
    private final GuestLayout layout;
    private final KvmVm vm;
    private final GuestMemory memory;
    private final KvmVcpu vcpu;
    private final VcpuRunner runner;
    private final GuestChannel channel;
    private boolean started;

    private KvmMachine(Kvm kvm, MachineConfig config) {
        this.config = config;
        this.layout = GuestLayout.forRam(config.ramBytes());
        this.vm = kvm.createVm();
        try {
            this.memory = GuestMemory.create(vm, layout, config.dirtyLogMode());
            this.vcpu = vm.createVcpu(0);
            try (Arena arena = Arena.ofConfined()) {
                vcpu.setCpuid(kvm.supportedCpuid(arena));
            }
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        this.runner = new VcpuRunner(vcpu, memory.system().host());
        this.channel = new GuestChannel(
                memory.system().host(),
                runner,
                (offset, length) -> memory.markHostWrite(memory.system(), offset, length));
    }

    /** A VM with this configuration's memory and vCPU, not running yet. */
    public static KvmMachine create(Kvm kvm, MachineConfig config) {
        return new KvmMachine(kvm, config);
    }

    /** Installs the guest program and its page tables, and starts it. */
    public synchronized void boot() {
        boot(GuestImage.load());
    }

    public synchronized void boot(GuestImage image) {
        boot(image, new long[0]);
    }

    /**
     * Installs the guest program with these workload and driver settings ({@code WL_*} of
     * {@code abi.h}; the guest starts its workload at {@code OP_PROLOGUE}), and starts it.
     */
    public synchronized void boot(GuestImage image, long[] workload) {
        checkNotStarted();
        SystemSlot.install(memory.system().host(), layout, image, config.idleSpins());
        SystemSlot.writeSettings(memory.system().host(), vcpu.tscKhz(), workload);
        memory.markHostWrite(memory.system(), 0, memory.system().bytes());
        vcpu.setSregs(SystemSlot.longModeSregs(vcpu.getSregs()));
        vcpu.setRegs(SystemSlot.entryRegs(image));
        started = true;
        runner.start();
    }

    /** Continues a guest from a saved vCPU state; its memory must already be in place. */
    public synchronized void start(VcpuState state) {
        checkNotStarted();
        vcpu.restoreState(state);
        channel.continueIds();
        started = true;
        runner.start();
    }

    private void checkNotStarted() {
        if (started) {
            throw new IllegalStateException("machine already started");
        }
    }

    /** Stops the guest wherever it is; returns once the vCPU is parked outside KVM_RUN. */
    public void pause() {
        runner.pause();
    }

    public void resume() {
        runner.resume();
    }

    public boolean isPaused() {
        return runner.isPaused();
    }

    /** The vCPU's registers; the machine must be paused. */
    public VcpuState saveState() {
        if (!runner.isPaused()) {
            throw new IllegalStateException("pause the machine before saving its vCPU state");
        }
        return vcpu.saveState();
    }

    /** Why the guest stopped, or null while it runs. */
    public RuntimeException failure() {
        return runner.failure();
    }

    public MachineConfig config() {
        return config;
    }

    public GuestLayout layout() {
        return layout;
    }

    public GuestMemory memory() {
        return memory;
    }

    public GuestChannel channel() {
        return channel;
    }

    public KvmVm vm() {
        return vm;
    }

    public KvmVcpu vcpu() {
        return vcpu;
    }

    /** Duration of the last {@link #pause()}, from the request to the vCPU thread parked. */
    public long lastPauseNanos() {
        return runner.lastPauseNanos();
    }

    /** The vCPU thread's doorbells, for a device that waits for the guest's requests. */
    public dev.ballast.kvm.guestabi.Doorbells doorbellSource() {
        return runner;
    }

    /** {@code PORT_DOORBELL} exits so far. */
    public long doorbells() {
        return runner.doorbellCount();
    }

    /** I/O exits so far (doorbells, sleeps, OP_EXITS). */
    public long ioExits() {
        return runner.ioExits();
    }

    @Override
    public void close() {
        runner.stop();
        vm.close();
        memory.close();
    }
}
