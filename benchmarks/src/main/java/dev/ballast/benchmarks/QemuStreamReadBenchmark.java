package dev.ballast.benchmarks;

import dev.ballast.journal.JournalWriter;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.qemu.tap.QemuStreamJournal;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The QEMU stream reader over a synthetic 7.2 stream: a 512 MiB {@code pc.ram} sent in one pass, every page once,
 * half as PAGE records (4 KiB each: 256 MiB of page data) and half as ZERO, in runs of 1 to 64 as a real guest's
 * memory comes, 30 PART sections, from memory through a channel (the reader copies into its buffer as it would from
 * a socket). The visitor touches one byte of each page. Score: records per second; bytes per second = score x
 * {@link #BYTES_PER_RECORD} (printed at setup). {@code readAndJournal}: the same stream journaled as {@code ballast tap}
 * and {@code ingest --journal} do it, every record an event through {@link QemuStreamJournal} into a
 * {@link JournalWriter} (Disruptor ring, Chronicle Queue), the writer drained at the end of each invocation.
 * <pre>
 *   java -jar benchmarks/target/benchmarks.jar QemuStreamReadBenchmark
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
    /** Stream bytes per page record, set at setup (the stream is about 256.5 MiB). */
    static double BYTES_PER_RECORD;

    private byte[] stream;
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
    public void setup() {
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
        stream = out.toByteArray();
        BYTES_PER_RECORD = (double) stream.length / PAGES;
        System.out.printf(
                "%nstream: %d bytes, %d page records, %.1f bytes per record%n", stream.length, PAGES, BYTES_PER_RECORD);
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long read() throws Exception {
        QemuStreamReader reader = new QemuStreamReader(new ArrayChannel(stream), null);
        reader.readRam(new QemuStreamVisitor() {
            @Override
            public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                sum += data[dataOff];
            }

            @Override
            public void onZero(long at, RamBlock block, long offset) {
                sum++;
            }
        });
        if (reader.zeroPages() + reader.normalPages() != PAGES) {
            throw new IllegalStateException("read " + (reader.zeroPages() + reader.normalPages()) + " records");
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long readAndJournal() throws Exception {
        long before = writer.events();
        QemuStreamReader reader = new QemuStreamReader(new ArrayChannel(stream), null);
        long t0 = System.nanoTime();
        QemuStreamJournal journal = new QemuStreamJournal(
                m -> writer, QemuStreamJournal.Context.streamOnly("benchmark"), () -> System.nanoTime() - t0);
        long end = reader.readRam(journal);
        journal.completed(end);
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
