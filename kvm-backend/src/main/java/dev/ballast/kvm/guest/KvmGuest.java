package dev.ballast.kvm.guest;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.device.GuestDevices;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.GuestImage;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.machine.KvmMachine;
import dev.ballast.kvm.machine.MachineConfig;
import dev.ballast.kvm.mem.DirtyLogMode;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.sys.KvmConstants;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A KVM guest as the engine sees it: the VM with the guest program, its balloon and hint devices,
 * and dirty logging of its RAM blocks.
 *
 * <p>Dirty log: KVM's log of each RAM slot ORed with the host's own writes into guest RAM (the
 * devices' used page). {@link #clearDirty} re-arms exactly the range the engine is about to read
 * ({@code KVM_CLEAR_DIRTY_LOG} of that range when manual dirty-log protection is available, as it
 * is here; otherwise a read of the slot's whole log), so a write after it is in the next
 * {@link #syncDirtyLog} and a write before it is not reported again. The log keeps running
 * across a failed migration, so a retry sees every write since.
 *
 * <p>Threads: the engine calls from the migration thread; the devices fill the request queue from
 * their own thread; {@link #drainRequests} is safe against that.
 */
public final class KvmGuest implements SourceGuest, AutoCloseable {
    private static final MemorySegment ZERO_PAGE = Arena.global().allocate(GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
    private static final Duration LONG_COMMAND = Duration.ofMinutes(10);

    private final KvmMachine machine;
    private final GuestDevices devices;
    private final RamLayout layout;
    private GuestFeatures features;
    private final MemorySlot[] blocks;
    private boolean logging;
    private boolean started;

    private KvmGuest(KvmMachine machine, RamLayout layout, GuestFeatures features) {
        this.machine = machine;
        this.layout = layout;
        this.features = features;
        try {
            this.devices = new GuestDevices(machine.memory(), layout, machine.doorbellSource());
            this.devices.syncsDone(() -> logSyncs);
        } catch (RuntimeException e) {
            machine.close();
            throw e;
        }
        this.blocks = new MemorySlot[layout.blockCount()];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = machine.memory().block(layout.block(i).name());
        }
    }

    /** The machine settings for a guest of this layout: manual dirty-log clearing where KVM has it. */
    public static MachineConfig machineConfig(Kvm kvm, RamLayout layout) {
        MachineConfig c = MachineConfig.ofRam(layout.totalBytes());
        return kvm.checkExtension(KvmConstants.KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) > 0
                ? c.withDirtyLogMode(DirtyLogMode.MANUAL_CLEAR)
                : c;
    }

    /** A new VM running the guest program with these workload settings ({@code WL_*}); the workload's prologue has not run yet. */
    public static KvmGuest boot(Kvm kvm, RamLayout layout, GuestFeatures features, long[] workload) {
        KvmGuest g = new KvmGuest(KvmMachine.create(kvm, machineConfig(kvm, layout)), layout, features);
        try {
            g.machine.boot(GuestImage.load(), workload);
            g.devices.start();
            g.started = true;
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /** A VM ready to receive a guest: memory and devices, no vCPU running until {@link #start}. */
    public static KvmGuest incoming(Kvm kvm, RamLayout layout, GuestFeatures features) {
        return new KvmGuest(KvmMachine.create(kvm, machineConfig(kvm, layout)), layout, features);
    }

    /** Continues the guest from a vCPU state; its memory (RAM and system slot) must be in place. */
    public void start(VcpuState state) {
        machine.start(state);
        devices.start();
        started = true;
    }

    /** A destination learns the guest's features with its state, before it starts it. */
    public void adoptFeatures(GuestFeatures f) {
        if (started) throw new IllegalStateException("the guest runs already");
        this.features = f;
    }

    public boolean started() {
        return started;
    }

    public KvmMachine machine() {
        return machine;
    }

    public GuestDevices devices() {
        return devices;
    }

    /** The host memory of a RAM block, by its index in {@link #layout()}. */
    public MemorySegment blockMemory(int block) {
        dirtyLogReady();
        return blocks[block].host();
    }

    /** Sends a command and waits for its reply (long commands, such as a prologue, included). */
    public Reply call(int op, long... args) {
        try {
            Reply r = machine.channel().call(LONG_COMMAND, op, args);
            if (!r.ok()) {
                throw new IllegalStateException("guest command " + op + " failed with status " + r.status() + ": " + r);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the guest", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("the guest did not answer command " + op + ": " + e.getMessage(), e);
        }
    }

    /** Posts a command the guest does not answer. */
    public void post(int op, long... args) {
        try {
            machine.channel().submit(op | GuestAbi.OP_NO_REPLY, args);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while posting to the guest", e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("the guest's command ring stayed full: " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ SourceGuest

    @Override
    public RamLayout layout() {
        return layout;
    }

    @Override
    public GuestFeatures features() {
        return features;
    }

    /**
     * Starts tracking. Forgetting what was written before means write-protecting every page
     * written since the VM started (30-40 ms for 4 GiB written here), so it runs on a thread of
     * its own while the engine opens the link, and every other call on this guest waits for it
     * first. Nothing the engine does before then reads a page or talks to the guest, and every
     * page the destination lacks is sent (or skipped on the guest's word, which comes later)
     * after it: as with a reset in line, a write that lands before its page is reset is in the
     * content sent.
     */
    @Override
    public void startDirtyLog() {
        logSyncs = 0; // this migration's numbering (the engine's); its devices' earlier notices are dropped at
        // balloonState
        if (logging) {
            return; // a retry: keep everything logged since the failed attempt
        }
        logging = true;
        dirtyReset = Thread.ofPlatform().name("ballast-dirty-reset").start(() -> {
            try {
                for (MemorySlot b : blocks) {
                    machine.memory().resetDirty(b);
                }
            } catch (Throwable t) {
                dirtyResetFailure = t;
            }
        });
    }

    /** The reset that {@link #startDirtyLog} started, while it may still run. */
    private volatile Thread dirtyReset;

    private volatile Throwable dirtyResetFailure;

    /** Waits for the reset of the dirty log to end (and throws what it threw). */
    private void dirtyLogReady() {
        Thread t = dirtyReset;
        if (t == null) return;
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        dirtyReset = null;
        Throwable f = dirtyResetFailure;
        if (f != null) {
            dirtyResetFailure = null;
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error e) throw e;
            throw new IllegalStateException(f);
        }
    }

    @Override
    public void syncDirtyLog(PageRanges dirty) {
        dirtyLogReady();
        for (int bi = 0; bi < blocks.length; bi++) {
            long[] words = machine.memory().syncDirtyLog(blocks[bi]);
            long pages = blocks[bi].pages();
            long runStart = -1;
            for (int w = 0; w < words.length; w++) {
                long word = words[w];
                if (word == 0 && runStart < 0) {
                    continue;
                }
                if (word == -1L && runStart >= 0) {
                    continue;
                }
                for (int bit = 0; bit < 64; bit++) {
                    long p = (long) w * 64 + bit;
                    if (p >= pages) {
                        break;
                    }
                    boolean set = (word >>> bit & 1) != 0;
                    if (set && runStart < 0) {
                        runStart = p;
                    } else if (!set && runStart >= 0) {
                        dirty.range(bi, runStart, p - runStart);
                        runStart = -1;
                    }
                }
            }
            if (runStart >= 0) {
                dirty.range(bi, runStart, pages - runStart);
            }
        }
        logSyncs++; // after the harvest: see GuestDevices' notices of its discards
    }

    /** Dirty-log syncs finished since the latest {@link #startDirtyLog} (read by the device thread). */
    private volatile long logSyncs;

    @Override
    public void clearDirty(int block, long offset, long count) {
        dirtyLogReady();
        machine.memory().rearmDirty(blocks[block], offset, count);
    }

    @Override
    public void restoreDirty(int block, long offset, long count) {
        dirtyLogReady();
        machine.memory().restoreDirty(blocks[block], offset, count);
    }

    @Override
    public void stopDirtyLog() {
        dirtyLogReady();
        logging = false;
    }

    @Override
    public long classify(int block, long offset, long max) {
        dirtyLogReady();
        MemorySegment mem = blocks[block].host();
        long at = offset * GuestAbi.PAGE_SIZE;
        boolean zero = isZero(mem, at);
        long n = 1;
        while (n < max && isZero(mem, at + n * GuestAbi.PAGE_SIZE) == zero) {
            n++;
        }
        return zero ? n : -n;
    }

    public static boolean isZero(MemorySegment mem, long at) {
        return MemorySegment.mismatch(mem, at, at + GuestAbi.PAGE_SIZE, ZERO_PAGE, 0, GuestAbi.PAGE_SIZE) < 0;
    }

    @Override
    public void pause() {
        dirtyLogReady();
        machine.pause();
        devices.quiesce();
        devices.freeze(true);
    }

    @Override
    public void resume() {
        dirtyLogReady();
        devices.freeze(false);
        machine.resume();
    }

    @Override
    public boolean running() {
        return !machine.isPaused();
    }

    @Override
    public void hintCommand(long commandId) {
        dirtyLogReady();
        rememberCommandId(commandId);
        devices.hintCommandIssued(commandId);
        post(GuestAbi.OP_HINT_CMD, commandId);
    }

    @Override
    public void requestFreeBitmap(long commandId) {
        dirtyLogReady();
        rememberCommandId(commandId);
        post(GuestAbi.OP_FREE_BITMAP, commandId);
    }

    /**
     * The device's last request id lives in the system slot's control block, so it moves with the
     * guest to the destination (in this process or another) and the next migration goes on from it.
     */
    @Override
    public long lastCommandId() {
        long id = machine.memory()
                .system()
                .host()
                .get(java.lang.foreign.ValueLayout.JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_LAST_CMD_ID_OFF);
        return id == 0 ? -1 : id;
    }

    private void rememberCommandId(long id) {
        if (!CommandIds.isRequest(id)) return;
        var memory = machine.memory();
        memory.system()
                .host()
                .set(java.lang.foreign.ValueLayout.JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_LAST_CMD_ID_OFF, id);
        memory.markHostWrite(memory.system(), GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_LAST_CMD_ID_OFF, 8);
    }

    @Override
    public void balloonState(GuestRequests ballooned) {
        dirtyLogReady();
        devices.balloonState(ballooned);
    }

    @Override
    public int drainRequests(GuestRequests into, int max) {
        dirtyLogReady();
        drainJournal();
        int n = devices.queue().drain(into, max);
        if (n > 0) {
            devices.hintsDrained(); // what the engine drained it has acted on: the guest may learn which hints are
            // taken
        }
        return n;
    }

    /** A u64 of the guest's control block ({@code CTL_*}, {@link GuestAbi}). */
    public long control(int offset) {
        return machine.memory()
                .system()
                .host()
                .get(java.lang.foreign.ValueLayout.JAVA_LONG, GuestAbi.SYS_CTL_OFF + offset);
    }

    /**
     * From now on what the devices do on their own (free page reports, the host's discards) goes to {@code sink},
     * from the thread that drives this guest: at every {@link #drainRequests} and {@link #drainJournal}.
     */
    public void journalTo(dev.ballast.core.event.EventSink sink) {
        this.journal = sink;
    }

    /** Publishes what the devices did since the last drain into the sink of {@link #journalTo}, if any. */
    public void drainJournal() {
        dev.ballast.core.event.EventSink s = journal;
        if (s != null) devices.drainJournal(s);
    }

    private dev.ballast.core.event.EventSink journal;

    public boolean dirtyLogging() {
        return logging;
    }

    @Override
    public void close() {
        dirtyLogReady();
        devices.close();
        machine.close();
    }
}
