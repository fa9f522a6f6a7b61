package dev.ballast.kvm;

import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.Signals;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Pulls a vCPU thread out of {@code KVM_RUN}: a signal sent to that thread with
 * {@code pthread_kill} makes the ioctl return {@code EINTR} (together with
 * {@code kvm_run.immediate_exit}, which covers a signal that arrives just before the thread
 * enters the guest), as QEMU does.
 *
 * <p>The signal is {@code SIGUSR1}, with a no-op handler installed through
 * {@code sun.misc.Signal}. HotSpot on Linux does not use it: it takes {@code SIGUSR2} for thread
 * suspend/resume, {@code SIGQUIT} for thread dumps, {@code SIGHUP/SIGINT/SIGTERM} for shutdown
 * hooks, {@code SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP} for its own traps, and ignores
 * {@code SIGPIPE/SIGXFSZ}. {@link #install()} checks that nothing else in the process caught
 * {@code SIGUSR1} before it did.
 */
public final class VcpuKick {
    /** {@code SIGUSR1} on Linux. */
    public static final int SIGNAL = 10;

    private static final String NAME = "USR1";

    private static boolean installed;

    private VcpuKick() {}

    /** Installs the no-op handler once per process. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        if (caught(SIGNAL)) {
            throw new IllegalStateException("SIG" + NAME + " already has a handler in this process; the KVM backend"
                    + " needs it to pull vCPU threads out of KVM_RUN");
        }
        Signals.handle(
                NAME, () -> {}); // a handler, even one that does nothing, is what makes the signal interrupt KVM_RUN
        installed = true;
    }

    /** Sends the kick signal to a thread (its {@code pthread_t}). */
    public static void kick(long pthread) {
        LibC.pthreadKill(pthread, SIGNAL);
    }

    /** Whether this process has a handler for {@code signal} ({@code SigCgt} in /proc/self/status). */
    static boolean caught(int signal) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("SigCgt:")) {
                    return new BigInteger(line.substring(7).trim(), 16).testBit(signal - 1);
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
