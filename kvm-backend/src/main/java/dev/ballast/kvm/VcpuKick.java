package dev.ballast.kvm;

import dev.ballast.kvm.sys.LibC;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
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

    private VcpuKick() {
    }

    /** Installs the no-op handler once per process. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        if (caught(SIGNAL)) {
            throw new IllegalStateException("SIG" + NAME + " already has a handler in this process; the KVM backend"
                    + " needs it to pull vCPU threads out of KVM_RUN");
        }
        installNoOpHandler();
        installed = true;
    }

    /**
     * {@code sun.misc.Signal.handle(new Signal(NAME), signal -> { })}, by reflection: javac warns of
     * every direct use of {@code sun.misc} and no annotation silences that warning. The handler
     * does nothing; that a handler exists is what makes the signal interrupt {@code KVM_RUN}.
     */
    private static void installNoOpHandler() {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Object noOp = Proxy.newProxyInstance(handler.getClassLoader(), new Class<?>[] {handler}, (proxy, m, args) -> switch (m.getName()) {
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                case "toString" -> "ballast vCPU kick";
                default -> null;
            });
            signal.getMethod("handle", signal, handler).invoke(null, signal.getConstructor(String.class).newInstance(NAME), noOp);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("cannot handle SIG" + NAME + ": " + e.getCause().getMessage(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot handle SIG" + NAME + ": no sun.misc.Signal in this JVM", e);
        }
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
