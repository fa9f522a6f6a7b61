package dev.ballast.kvm.sys;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

/**
 * A Java handler for a POSIX signal: {@code sun.misc.Signal.handle}, called by reflection because
 * javac warns of every direct use of {@code sun.misc} and no annotation silences that warning. The
 * handler runs on the JVM's signal dispatch thread, not in the signal's context.
 */
public final class Signals {
    private Signals() {}

    /**
     * Handles {@code SIG<name>} ({@code "USR1"}, {@code "TERM"}, ...) with {@code onSignal}.
     *
     * @throws IllegalStateException when the JVM refuses (a signal it uses itself) or has no {@code sun.misc.Signal}
     */
    public static void handle(String name, Runnable onSignal) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Object h = Proxy.newProxyInstance(
                    handler.getClassLoader(), new Class<?>[] {handler}, (proxy, m, args) -> switch (m.getName()) {
                        case "handle" -> {
                            onSignal.run();
                            yield null;
                        }
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        case "toString" -> "ballast handler of SIG" + name;
                        default -> null;
                    });
            signal.getMethod("handle", signal, handler)
                    .invoke(null, signal.getConstructor(String.class).newInstance(name), h);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException(
                    "cannot handle SIG" + name + ": " + e.getCause().getMessage(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot handle SIG" + name + ": no sun.misc.Signal in this JVM", e);
        }
    }
}
