package dev.ballast.kvm.machine;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ballast.kvm.KvmVcpu;
import dev.ballast.kvm.VcpuExit;
import dev.ballast.kvm.VcpuKick;
import dev.ballast.kvm.guestabi.Doorbells;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Ring;
import dev.ballast.kvm.sys.LibC;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Owns the vCPU thread: a platform thread that calls {@code KVM_RUN} in a loop and handles the
 * guest's exits. {@link #pause()} works whatever the guest does (even a loop with no exits):
 * it sets {@code kvm_run.immediate_exit}, sends the thread the kick signal, and waits until the
 * thread is out of {@code KVM_RUN} and parked (with any pending I/O completed, so the vCPU state
 * can be saved).
 */
final class VcpuRunner implements Doorbells {
    private final KvmVcpu vcpu;
    private final MemorySegment sys;
    private final Ring commands;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final CountDownLatch started = new CountDownLatch(1);
    private Thread thread;
    private long pthread;

    // guarded by lock
    private boolean pauseRequested;
    private boolean stopRequested;
    private boolean paused;
    private boolean exited;
    private long doorbells;

    private volatile RuntimeException failure;
    private volatile long lastPauseNanos;
    private volatile long ioExits;
    private volatile long sleeps;
    private volatile long interrupts;

    VcpuRunner(KvmVcpu vcpu, MemorySegment sys) {
        this.vcpu = vcpu;
        this.sys = sys;
        this.commands = new Ring(sys.asSlice(GuestAbi.SYS_CMD_RING_OFF));
    }

    void start() {
        VcpuKick.install();
        thread = Thread.ofPlatform().name("vcpu-" + vcpu.id()).daemon(true).start(this::loop);
        try {
            started.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the vCPU thread starts", e);
        }
    }

    private void loop() {
        pthread = LibC.pthreadSelf();
        started.countDown();
        try {
            for (; ; ) {
                VcpuExit exit = vcpu.run();
                boolean goOn = switch (exit) {
                    case VcpuExit.Interrupted i -> parkIfRequested();
                    case VcpuExit.IoOut out when out.port() == GuestAbi.PORT_DOORBELL -> ringDoorbell();
                    case VcpuExit.IoOut out when out.port() == GuestAbi.PORT_SLEEP -> sleepUntilCommand();
                    case VcpuExit.IoOut out
                    when out.port() == GuestAbi.PORT_NOP -> {
                        ioExits++;
                        yield true;
                    }
                    case VcpuExit.IoOut out
                    when out.port() == GuestAbi.PORT_PANIC ->
                        fail("guest panic: code "
                                + sys.get(JAVA_LONG, GuestAbi.CTL_PANIC_CODE_OFF) + ", arg 0x"
                                + Long.toHexString(sys.get(JAVA_LONG, GuestAbi.CTL_PANIC_ARG_OFF)));
                    default -> fail("guest stopped with an unexpected exit: " + exit + " at " + where());
                };
                if (!goOn) {
                    return;
                }
            }
        } catch (RuntimeException | Error e) {
            failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
        } finally {
            lock.lock();
            try {
                exited = true;
                paused = false;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private String where() {
        var regs = vcpu.getRegs();
        var sregs = vcpu.getSregs();
        return "rip 0x" + Long.toHexString(regs.rip()) + ", rsp 0x" + Long.toHexString(regs.rsp()) + ", rflags 0x"
                + Long.toHexString(regs.rflags()) + ", cs " + sregs.cs() + ", ss " + sregs.ss() + ", cr0 0x"
                + Long.toHexString(sregs.cr0()) + ", cr2 0x" + Long.toHexString(sregs.cr2());
    }

    private boolean fail(String why) {
        failure = new IllegalStateException(why);
        return false;
    }

    /** After EINTR: park if a pause was asked for; false when the thread must end. */
    private boolean parkIfRequested() {
        interrupts++;
        lock.lock();
        try {
            if (!pauseRequested && !stopRequested) {
                return true; // a stray signal
            }
            if (stopRequested) {
                return false;
            }
            paused = true;
            vcpu.setImmediateExit(false);
            changed.signalAll();
            while (pauseRequested && !stopRequested) {
                changed.awaitUninterruptibly();
            }
            paused = false;
            changed.signalAll();
            return !stopRequested;
        } finally {
            lock.unlock();
        }
    }

    private boolean ringDoorbell() {
        ioExits++;
        lock.lock();
        try {
            doorbells++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return true;
    }

    /**
     * The guest has nothing to do: wait until the host posts a command (or wants a pause or stop),
     * or until the time the guest asked for in {@code CTL_SLEEP_NS} (its next workload tick).
     */
    private boolean sleepUntilCommand() throws IllegalStateException {
        ioExits++;
        sleeps++;
        long sleepNs = sys.get(JAVA_LONG, GuestAbi.SYS_CTL_OFF + GuestAbi.CTL_SLEEP_NS_OFF);
        long deadline = System.nanoTime() + (sleepNs > 0 ? Math.min(sleepNs, 1_000_000_000L) : 0);
        lock.lock();
        try {
            while (commands.isEmpty() && !pauseRequested && !stopRequested) {
                long left = sleepNs > 0 ? deadline - System.nanoTime() : 50_000_000L;
                if (left <= 0) {
                    break;
                }
                try {
                    changed.awaitNanos(Math.min(left, 50_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return !stopRequested;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void commandPosted() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long doorbellCount() {
        lock.lock();
        try {
            return doorbells;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void awaitDoorbell(long seen, long timeoutNanos) throws InterruptedException {
        lock.lock();
        try {
            long left = timeoutNanos;
            while (doorbells == seen && !exited && left > 0) {
                left = changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public RuntimeException failure() {
        RuntimeException f = failure;
        if (f == null && exited && !stopRequested) {
            return new IllegalStateException("vCPU thread ended");
        }
        return f;
    }

    /** Stops the guest and waits until the vCPU thread is parked outside {@code KVM_RUN}. */
    void pause() {
        lock.lock();
        try {
            checkRunning();
            if (pauseRequested) {
                return;
            }
            long t0 = System.nanoTime();
            pauseRequested = true;
            vcpu.setImmediateExit(true);
            VcpuKick.kick(pthread);
            changed.signalAll();
            while (!paused && !exited) {
                if (!changed.await(10, TimeUnit.MILLISECONDS) && !paused && !exited) {
                    VcpuKick.kick(pthread); // belt and braces: the first signal cannot be lost, but costs nothing
                }
            }
            lastPauseNanos = System.nanoTime() - t0;
            if (exited) {
                throw new IllegalStateException("vCPU thread ended while pausing", failure);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while pausing the vCPU", e);
        } finally {
            lock.unlock();
        }
    }

    /** Lets a paused guest run again. */
    void resume() {
        lock.lock();
        try {
            checkRunning();
            pauseRequested = false;
            changed.signalAll();
            while (paused && !exited) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    boolean isPaused() {
        lock.lock();
        try {
            return paused;
        } finally {
            lock.unlock();
        }
    }

    boolean isRunning() {
        lock.lock();
        try {
            return thread != null && !exited && !paused;
        } finally {
            lock.unlock();
        }
    }

    /** Ends the vCPU thread (whatever the guest is doing) and waits for it. */
    void stop() {
        lock.lock();
        try {
            if (thread == null || exited) {
                return;
            }
            stopRequested = true;
            vcpu.setImmediateExit(true);
            VcpuKick.kick(pthread);
            changed.signalAll();
            while (!exited) {
                if (!changed.await(10, TimeUnit.MILLISECONDS) && !exited) {
                    VcpuKick.kick(pthread);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkRunning() {
        if (thread == null) {
            throw new IllegalStateException("vCPU not started");
        }
        if (exited) {
            throw new IllegalStateException(
                    "vCPU thread has ended" + (failure == null ? "" : ": " + failure.getMessage()), failure);
        }
    }

    long lastPauseNanos() {
        return lastPauseNanos;
    }

    long ioExits() {
        return ioExits;
    }

    long sleeps() {
        return sleeps;
    }

    long interrupts() {
        return interrupts;
    }
}
