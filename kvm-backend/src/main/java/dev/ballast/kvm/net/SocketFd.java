package dev.ballast.kvm.net;

import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;

/**
 * The file descriptor behind a {@link SocketChannel}, for the socket options that
 * {@code java.net} does not offer ({@code SO_RCVLOWAT}) and for reads by {@code poll} and
 * {@code recv}. The JDK keeps it in {@code sun.nio.ch}, which the launcher and the tests open
 * ({@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED}); without that, {@link #duplicate}
 * answers -1 and the socket is read through the channel.
 */
public final class SocketFd {
    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVLOWAT = 18;

    private static final Method GET_FD_VAL = lookup();

    private SocketFd() {}

    private static Method lookup() {
        try {
            Method m = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The channel's descriptor, or -1 where the JDK does not let it be read. */
    private static int of(SocketChannel channel) {
        if (GET_FD_VAL == null) return -1;
        try {
            return (int) GET_FD_VAL.invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    /** A close-on-exec duplicate of the channel's descriptor (the caller closes it), or -1 where there is none. */
    public static int duplicate(SocketChannel channel) {
        int fd = of(channel);
        if (fd < 0) return -1;
        try {
            return LibC.dupCloseOnExec(fd);
        } catch (NativeException e) {
            return -1;
        }
    }

    /** {@code setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, bytes)}. */
    public static void setReceiveLowWatermark(int fd, int bytes) {
        LibC.setsockoptInt(fd, SOL_SOCKET, SO_RCVLOWAT, bytes);
    }
}
