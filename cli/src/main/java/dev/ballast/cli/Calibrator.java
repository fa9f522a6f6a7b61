package dev.ballast.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The measurements of {@code ballast calibrate}: what a migration's per-page work costs on this host,
 * on real 4 KiB pages in off-heap memory, and what loopback TCP carries. Each function makes one
 * pass and returns its figure; the command repeats them and takes medians. Working sets are the
 * caller's: {@code calibrate} uses more memory than the caches hold, so the figures are memory-bound
 * like a real guest's; tests pass tiny ones.
 */
final class Calibrator {
    private Calibrator() {}

    static final int PAGE = 4096;
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;
    /** A page of zeros to compare against; small, so it stays in L1. */
    private static final MemorySegment ZERO_PAGE = MemorySegment.ofArray(new long[PAGE / 8]);

    /** How a page is tested for zero. */
    enum ZeroCheck {
        /** {@link MemorySegment#mismatch} against a zero page: the JDK's vectorized compare (AVX2/AVX-512). */
        MISMATCH("MemorySegment.mismatch against a zero page (vectorized)"),
        /** A loop over the page's 512 longs, OR-ing eight at a time, leaving at the first non-zero group. */
        LONG_LOOP("a loop over 8-byte words, eight at a time");

        final String description;

        ZeroCheck(String description) {
            this.description = description;
        }

        boolean isZero(MemorySegment pages, long offset) {
            return switch (this) {
                case MISMATCH -> MemorySegment.mismatch(pages, offset, offset + PAGE, ZERO_PAGE, 0, PAGE) < 0;
                case LONG_LOOP -> isZeroByWords(pages, offset);
            };
        }
    }

    static boolean isZeroByWords(MemorySegment pages, long offset) {
        for (long o = offset, end = offset + PAGE; o < end; o += 64) {
            long acc = pages.get(WORD, o)
                    | pages.get(WORD, o + 8)
                    | pages.get(WORD, o + 16)
                    | pages.get(WORD, o + 24)
                    | pages.get(WORD, o + 32)
                    | pages.get(WORD, o + 40)
                    | pages.get(WORD, o + 48)
                    | pages.get(WORD, o + 56);
            if (acc != 0) return false;
        }
        return true;
    }

    /**
     * Nanoseconds per page to find that each page of {@code zeroPages} (all zeros) is zero; every
     * byte is read. Fails if a page is not zero, so the work cannot be skipped.
     */
    static double zeroCheckNsPerPage(MemorySegment zeroPages, ZeroCheck how) {
        long pages = zeroPages.byteSize() / PAGE;
        long start = System.nanoTime();
        long zero = 0;
        for (long p = 0; p < pages; p++) {
            if (how.isZero(zeroPages, p * PAGE)) zero++;
        }
        long ns = System.nanoTime() - start;
        if (zero != pages) throw new IllegalStateException("zero check: " + (pages - zero) + " pages were not zero");
        return (double) ns / pages;
    }

    /**
     * Nanoseconds per page to find that each page of {@code dataPages} is not zero; the check stops
     * at the first non-zero word. Fails if a page reads as zero.
     */
    static double dataCheckNsPerPage(MemorySegment dataPages, ZeroCheck how) {
        long pages = dataPages.byteSize() / PAGE;
        long start = System.nanoTime();
        long zero = 0;
        for (long p = 0; p < pages; p++) {
            if (how.isZero(dataPages, p * PAGE)) zero++;
        }
        long ns = System.nanoTime() - start;
        if (zero != 0) throw new IllegalStateException("data check: " + zero + " pages read as zero");
        return (double) ns / pages;
    }

    /** Nanoseconds per page to copy each page of {@code pages} into {@code sendBuffer}, round-robin, as into a socket buffer. */
    static double copyNsPerPage(MemorySegment pages, MemorySegment sendBuffer) {
        long count = pages.byteSize() / PAGE;
        long slots = sendBuffer.byteSize() / PAGE;
        if (slots == 0) throw new IllegalArgumentException("send buffer smaller than a page");
        long start = System.nanoTime();
        long slot = 0;
        for (long p = 0; p < count; p++) {
            MemorySegment.copy(pages, p * PAGE, sendBuffer, slot * PAGE, PAGE);
            if (++slot == slots) slot = 0;
        }
        long ns = System.nanoTime() - start;
        if (sendBuffer.get(ValueLayout.JAVA_BYTE, 0) == 0 && pages.get(ValueLayout.JAVA_BYTE, 0) != 0) {
            throw new IllegalStateException("copy: nothing copied");
        }
        return (double) ns / count;
    }

    /**
     * A migration bitmap of {@code pages} bits with one bit in {@code oneIn} set at random (seeded):
     * mostly empty, as after free page hints cleared most of it.
     */
    static long[] sparseBitmap(long pages, int oneIn, long seed) {
        long[] words = new long[Math.toIntExact((pages + 63) / 64)];
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long n = pages / oneIn; n > 0; n--) {
            long bit = rnd.nextLong(pages);
            words[(int) (bit >>> 6)] |= 1L << bit;
        }
        return words;
    }

    /** The sum of the indexes of the set bits, walking word by word with {@link Long#numberOfTrailingZeros}. */
    static long walk(long[] bitmap) {
        long sum = 0;
        for (int w = 0; w < bitmap.length; w++) {
            long word = bitmap[w];
            while (word != 0) {
                sum += ((long) w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
            }
        }
        return sum;
    }

    /** A sink for results, so the JIT cannot drop the work that made them. */
    static volatile long blackhole;

    /** Nanoseconds per page (per bit) to walk {@code bitmap} and visit its set bits. */
    static double bitmapWalkNsPerPage(long[] bitmap) {
        long start = System.nanoTime();
        long sum = walk(bitmap);
        long ns = System.nanoTime() - start;
        blackhole = sum;
        return (double) ns / (bitmap.length * 64L);
    }

    /**
     * Loopback TCP throughput in bits per second: a client streams {@code bytes} (or as much as it
     * can in {@code maxNs}) from a direct buffer to a server on 127.0.0.1 that reads into a direct
     * buffer and drops it. Timed on the receiver, from the first byte sent to the last received.
     */
    static long loopbackBitsPerSec(long bytes, long maxNs) {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            long[] received = new long[1];
            long[] endNs = new long[1];
            Throwable[] failure = new Throwable[1];
            Thread receiver = Thread.ofPlatform()
                    .name("calibrate-tcp-receiver")
                    .daemon()
                    .start(() -> {
                        try (SocketChannel in = server.accept()) {
                            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
                            long n = 0;
                            int r;
                            while ((r = in.read(buf)) >= 0) {
                                n += r;
                                buf.clear();
                            }
                            endNs[0] = System.nanoTime();
                            received[0] = n;
                        } catch (IOException | RuntimeException e) {
                            failure[0] = e;
                        }
                    });
            long startNs;
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
                for (int i = 0; i < buf.capacity(); i += 8) buf.putLong(i, 0x5a5a_5a5a_0000_0001L + i);
                startNs = System.nanoTime();
                long sent = 0;
                while (sent < bytes && System.nanoTime() - startNs < maxNs) {
                    buf.clear();
                    while (buf.hasRemaining()) sent += out.write(buf);
                }
                out.shutdownOutput();
            }
            receiver.join(10_000);
            if (failure[0] != null) throw new IOException("loopback receiver: " + failure[0].getMessage(), failure[0]);
            if (received[0] == 0 || endNs[0] <= startNs) throw new IOException("loopback: nothing received");
            return Math.round(received[0] * 8.0 * 1e9 / (endNs[0] - startNs));
        } catch (IOException e) {
            throw new UncheckedIOException("loopback TCP: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /**
     * Loopback TCP one-way latency in nanoseconds: the median round trip of an 8-byte ping-pong
     * (TCP_NODELAY) over {@code roundTrips} trips, after a short warm-up, halved.
     */
    static long loopbackOneWayLatencyNs(int roundTrips) {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int warmUp = Math.min(200, roundTrips);
            int total = warmUp + roundTrips;
            Throwable[] failure = new Throwable[1];
            Thread echo = Thread.ofPlatform()
                    .name("calibrate-tcp-echo")
                    .daemon()
                    .start(() -> {
                        try (SocketChannel c = server.accept()) {
                            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            ByteBuffer b = ByteBuffer.allocateDirect(8);
                            for (int i = 0; i < total; i++) {
                                b.clear();
                                while (b.hasRemaining()) if (c.read(b) < 0) return;
                                b.flip();
                                while (b.hasRemaining()) c.write(b);
                            }
                        } catch (IOException | RuntimeException e) {
                            failure[0] = e;
                        }
                    });
            long[] rtt = new long[roundTrips];
            try (SocketChannel c = SocketChannel.open(server.getLocalAddress())) {
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ByteBuffer b = ByteBuffer.allocateDirect(8);
                for (int i = 0; i < total; i++) {
                    long t0 = System.nanoTime();
                    b.clear();
                    b.putLong(0, i);
                    while (b.hasRemaining()) c.write(b);
                    b.clear();
                    while (b.hasRemaining()) if (c.read(b) < 0) throw new IOException("echo closed the connection");
                    long t1 = System.nanoTime();
                    if (b.getLong(0) != i) throw new IOException("echo returned the wrong bytes");
                    if (i >= warmUp) rtt[i - warmUp] = t1 - t0;
                }
            }
            echo.join(10_000);
            if (failure[0] != null) throw new IOException("loopback echo: " + failure[0].getMessage(), failure[0]);
            return Math.max(1, Math.round(median(rtt) / 2));
        } catch (IOException e) {
            throw new UncheckedIOException("loopback TCP: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        if (n == 0) throw new IllegalArgumentException("median of nothing");
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    static double median(long[] values) {
        return median(Arrays.stream(values).asDoubleStream().toArray());
    }
}
