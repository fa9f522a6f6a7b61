import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * This machine's reference bandwidths, for scripts/throughput.sh: memory copy (MemorySegment.copy
 * of 64 MiB blocks between two 1 GiB buffers, already faulted in) and loopback TCP (one blocking
 * connection, 4 MiB writes and reads, 2 GiB). Prints "memcpy_MBps N" and "loopback_tcp_MBps N";
 * with the argument "tcp", only the second. Run with JDK 25: java scripts/Bandwidth.java [tcp]
 */
public class Bandwidth {
    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !args[0].equals("tcp")) memcpy();
        tcp();
    }

    static void memcpy() {
        long n = 1L << 30;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(n, 4096);
            MemorySegment dst = a.allocate(n, 4096);
            src.fill((byte) 1);
            dst.fill((byte) 2);
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 5; round++) {
                long t0 = System.nanoTime();
                for (long off = 0; off < n; off += 64 << 20) MemorySegment.copy(src, off, dst, off, 64 << 20);
                best = Math.min(best, System.nanoTime() - t0);
            }
            System.out.printf("memcpy_MBps %.0f%n", n / (best / 1e9) / 1e6);
        }
    }

    static void tcp() throws Exception {
        long total = 2L << 30;
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            Thread reader = Thread.ofPlatform().start(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer b = ByteBuffer.allocateDirect(4 << 20);
                    long got = 0;
                    while (got < total) {
                        int r = c.read(b.clear());
                        if (r < 0) break;
                        got += r;
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (SocketChannel c = SocketChannel.open(server.getLocalAddress())) {
                ByteBuffer b = ByteBuffer.allocateDirect(4 << 20);
                long t0 = System.nanoTime();
                for (long sent = 0; sent < total; ) {
                    b.clear();
                    while (b.hasRemaining()) sent += c.write(b);
                }
                reader.join();
                System.out.printf("loopback_tcp_MBps %.0f%n", total / ((System.nanoTime() - t0) / 1e9) / 1e6);
            }
        }
    }
}
