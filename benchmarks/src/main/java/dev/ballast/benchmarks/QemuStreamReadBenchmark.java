package dev.ballast.benchmarks;

import dev.ballast.journal.JournalWriter;
import dev.ballast.qemu.stream.ChannelSink;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.qemu.tap.QemuStreamJournal;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The QEMU stream reader over a saved stream ({@code -p stream=FILE}, from {@code migrate "exec:cat > FILE"}, read
 * into memory once) or, by default, a synthetic 7.2 stream: a 512 MiB {@code pc.ram} sent in one pass, every page
 * once, half as PAGE records (4 KiB each: 256 MiB of page data) and half as ZERO, in runs of 1 to 64 as a real
 * guest's memory comes, 30 PART sections. Each invocation reads the stream from its first byte to the end of RAM
 * from memory through a channel (a copy into the reader's direct buffer, as a socket's read makes one).
 * Scores: {@code records} (page records per second) and {@code bytes} (stream bytes per second) are JMH's
 * secondary results; the primary is whole streams per second.
 * <ul>
 *   <li>{@code read}: the reader alone; the visitor touches one byte of each page.
 *   <li>{@code relay}: what {@code ballast tap} does in Java: read, forward every validated byte through a
 *       {@link ChannelSink} (to a channel that discards it), and journal every record through
 *       {@link QemuStreamJournal} into a {@link JournalWriter} (Disruptor ring, Chronicle Queue), waiting at the end
 *       of each invocation until the journal's consumer has appended every page event.
 *   <li>{@code readAndJournal}: {@code relay} without forwarding.
 * </ul>
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar QemuStreamReadBenchmark [-p stream=/tmp/vm.stream]
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class QemuStreamReadBenchmark {
    static final int PAGES = 512 * 256;
    static final int SECTIONS = 30;

    /** A saved stream to read instead of the synthetic one (empty: synthetic). */
    @Param("")
    public String stream;

    /** Page records and stream bytes (to the end of RAM) read: JMH reports both per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counts {
        public long records;
        public long bytes;

        @Setup(Level.Iteration)
        public void clear() {
            records = 0;
            bytes = 0;
        }
    }

    private byte[] data;
    private long records;
    private long sum;
    private java.nio.file.Path dir;
    private JournalWriter writer;

    @Setup(Level.Iteration)
    public void openJournal() {
        dir = BenchDirs.create("qemu-journal");
        writer = JournalWriter.create(dir.resolve("journal"), java.util.Map.of("benchmark", "QemuStreamReadBenchmark"));
    }

    @TearDown(Level.Iteration)
    public void closeJournal() {
        writer.close();
        BenchDirs.delete(dir);
    }

    @Setup
    public void setup() throws Exception {
        if (!stream.isEmpty()) {
            data = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(stream));
        } else {
            data = synthetic();
        }
        QemuStreamReader reader = new QemuStreamReader(new ArrayChannel(data), null);
        long end = reader.readRam(new QemuStreamVisitor() {});
        records = reader.zeroPages() + reader.normalPages();
        System.out.printf(
                "%nstream: %s, %d bytes to the end of RAM, %d page records, %.1f bytes per record%n",
                stream.isEmpty() ? "synthetic" : stream, end, records, (double) end / records);
    }

    private static byte[] synthetic() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(270 << 20);
        be32(out, 0x5145564D);
        be32(out, 3);
        out.write(0x07);
        byte[] machine = "pc-q35-7.2".getBytes(StandardCharsets.US_ASCII);
        be32(out, machine.length);
        out.writeBytes(machine);
        out.write(0x01);
        be32(out, 2);
        name(out, "ram");
        be32(out, 0);
        be32(out, 4);
        be64(out, (long) PAGES * 4096 | 0x04);
        name(out, "pc.ram");
        be64(out, (long) PAGES * 4096);
        be64(out, 0x10);
        out.write(0x7E);
        be32(out, 2);
        SplittableRandom r = new SplittableRandom(42);
        byte[] page = new byte[4096];
        int p = 0;
        boolean named = false;
        for (int s = 0; s < SECTIONS; s++) {
            out.write(s == SECTIONS - 1 ? 0x03 : 0x02);
            be32(out, 2);
            int stop = s == SECTIONS - 1 ? PAGES : (int) ((long) PAGES * (s + 1) / SECTIONS);
            while (p < stop) {
                boolean zero = r.nextBoolean();
                int run = Math.min(stop - p, 1 + r.nextInt(64));
                for (int i = 0; i < run; i++, p++) {
                    be64(out, (long) p * 4096 | (zero ? 0x02 : 0x08) | (named ? 0x20 : 0));
                    if (!named) {
                        name(out, "pc.ram");
                        named = true;
                    }
                    if (zero) {
                        out.write(0);
                    } else {
                        r.nextBytes(page);
                        out.writeBytes(page);
                    }
                }
            }
            be64(out, 0x10);
            out.write(0x7E);
            be32(out, 2);
        }
        out.write(0x00);
        return out.toByteArray();
    }

    private final QemuStreamVisitor touch = new QemuStreamVisitor() {
        @Override
        public void onPage(long at, RamBlock block, long offset, ByteBuffer page, int pageOff) {
            sum += page.get(pageOff);
        }

        @Override
        public void onZero(long at, RamBlock block, long offset) {
            sum++;
        }
    };

    /** Takes every byte it is given, as a destination socket that keeps up. */
    private final ChannelSink discard = new ChannelSink(new WritableByteChannel() {
        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            sum += src.get(src.position());
            src.position(src.limit());
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    });

    @Benchmark
    public long read(Counts counts) throws Exception {
        QemuStreamReader reader = new QemuStreamReader(new ArrayChannel(data), null);
        counts.bytes += reader.readRam(touch);
        counts.records += check(reader);
        return sum;
    }

    @Benchmark
    public long relay(Counts counts) throws Exception {
        return journal(counts, discard);
    }

    @Benchmark
    public long readAndJournal(Counts counts) throws Exception {
        return journal(counts, null);
    }

    private long check(QemuStreamReader reader) {
        long n = reader.zeroPages() + reader.normalPages();
        if (n != records) {
            throw new IllegalStateException("read " + n + " records, expected " + records);
        }
        return n;
    }

    private long journal(Counts counts, ChannelSink sink) throws Exception {
        long before = writer.events();
        QemuStreamReader reader = new QemuStreamReader(new ArrayChannel(data), sink);
        long t0 = System.nanoTime();
        QemuStreamJournal journal = new QemuStreamJournal(
                m -> writer, QemuStreamJournal.Context.streamOnly("benchmark"), () -> System.nanoTime() - t0);
        long end = reader.readRam(journal);
        journal.completed(end);
        counts.bytes += end;
        counts.records += check(reader);
        // the journal has them all only once its consumer has appended them: wait for it, as a tap's close does
        long want = before + journal.records(); // the page events; the few after the last page follow it
        while (writer.events() < want) {
            Thread.onSpinWait();
        }
        return reader.normalPages();
    }

    private static void be32(ByteArrayOutputStream o, int v) {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }

    private static void be64(ByteArrayOutputStream o, long v) {
        be32(o, (int) (v >>> 32));
        be32(o, (int) v);
    }

    private static void name(ByteArrayOutputStream o, String s) {
        o.write(s.length());
        o.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** A blocking channel over an array: each read copies as much as fits, like a socket with data waiting. */
    static final class ArrayChannel implements ReadableByteChannel {
        private final ByteBuffer src;

        ArrayChannel(byte[] data) {
            this.src = ByteBuffer.wrap(data);
        }

        @Override
        public int read(ByteBuffer dst) {
            if (!src.hasRemaining()) {
                return -1;
            }
            int n = Math.min(dst.remaining(), src.remaining());
            dst.put(dst.position(), src, src.position(), n);
            dst.position(dst.position() + n);
            src.position(src.position() + n);
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }
}
