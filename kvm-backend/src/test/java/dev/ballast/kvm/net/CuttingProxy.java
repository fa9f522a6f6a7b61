package dev.ballast.kvm.net;

import dev.ballast.core.wire.RecordType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A TCP proxy between a migration's source and its destination that reads the page stream's
 * record headers as they pass and, on the first connection only, cuts (closes both sockets) or
 * stalls (stops forwarding, keeps both open) when a chosen record starts. Later connections pass
 * untouched, so the source's retry can succeed.
 */
public final class CuttingProxy implements AutoCloseable {
    /** What to do when the chosen record starts. */
    public enum Action {
        CUT,
        STALL
    }

    /**
     * @param toDestination which direction to watch (source to destination, or back)
     * @param type          the record type
     * @param nth           its occurrence, from 1
     * @param onTrigger     run when it triggers (before the action), or null
     */
    public record Rule(boolean toDestination, RecordType type, int nth, Action action, Runnable onTrigger) {
        public static Rule cut(boolean toDestination, RecordType type, int nth) {
            return new Rule(toDestination, type, nth, Action.CUT, null);
        }
    }

    private final ServerSocket server;
    private final Supplier<InetSocketAddress> target;
    private final Rule rule;
    private final AtomicInteger connections = new AtomicInteger();
    private volatile boolean triggered;
    private volatile boolean closed;
    private final Thread acceptor;

    public CuttingProxy(Supplier<InetSocketAddress> target, Rule rule) throws IOException {
        this.server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        this.target = target;
        this.rule = rule;
        this.acceptor = Thread.ofPlatform().daemon().name("proxy-accept").start(this::accept);
    }

    public InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
    }

    /** Whether the rule has fired. */
    public boolean triggered() {
        return triggered;
    }

    public int connections() {
        return connections.get();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket a = server.accept();
                int n = connections.incrementAndGet();
                Socket b = new Socket();
                b.connect(target.get(), 5000);
                a.setTcpNoDelay(true);
                b.setTcpNoDelay(true);
                Rule r = n == 1 ? rule : null;
                Thread.ofPlatform()
                        .daemon()
                        .name("proxy-up-" + n)
                        .start(() -> pump(a, b, r != null && r.toDestination() ? r : null));
                Thread.ofPlatform()
                        .daemon()
                        .name("proxy-down-" + n)
                        .start(() -> pump(b, a, r != null && !r.toDestination() ? r : null));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    /** Copies from {@code from} to {@code to}, parsing record headers when there is a rule. */
    private void pump(Socket from, Socket to, Rule r) {
        byte[] buf = new byte[64 << 10];
        long nextRecordAt = 0; // stream offset of the next record's header
        long offset = 0;
        byte[] header = new byte[8];
        int seen = 0;
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            while (true) {
                int n = in.read(buf);
                if (n < 0) break;
                int start = 0;
                if (r != null) {
                    for (int i = 0; i < n; i++) {
                        long pos = offset + i;
                        if (pos >= nextRecordAt && pos < nextRecordAt + 8) header[(int) (pos - nextRecordAt)] = buf[i];
                        if (pos == nextRecordAt + 7) {
                            int type = header[2] & 0xFF;
                            long len = (header[4] & 0xFFL)
                                    | (header[5] & 0xFFL) << 8
                                    | (header[6] & 0xFFL) << 16
                                    | (header[7] & 0xFFL) << 24;
                            if (type == r.type().code() && ++seen == r.nth()) {
                                // forward what came before this record, then act
                                int before = (int) (nextRecordAt - offset);
                                if (before > start) out.write(buf, start, before - start);
                                out.flush();
                                triggered = true;
                                if (r.onTrigger() != null) r.onTrigger().run();
                                if (r.action() == Action.CUT) {
                                    closeQuietly(from);
                                    closeQuietly(to);
                                    return;
                                }
                                // STALL: hold both sockets open and move nothing more
                                while (!closed && !from.isClosed() && !to.isClosed()) Thread.sleep(50);
                                return;
                            }
                            nextRecordAt += 8 + len;
                        }
                    }
                }
                out.write(buf, start, n - start);
                offset += n;
            }
            to.shutdownOutput();
        } catch (IOException | InterruptedException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
