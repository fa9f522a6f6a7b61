package dev.ballast.benchmarks;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.wire.DocumentContext;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Baseline without the ring: 40-byte records appended straight into a Chronicle Queue from the
 * benchmark thread, one document per record or {@code recordsPerDocument} records per document.
 * Shows what batching buys and what the ring and the checksums cost on top.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2)
@State(Scope.Benchmark)
public class ChronicleAppendBenchmark {
    static final int RECORDS = 4096;

    @Param({"1", "4096"})
    public int recordsPerDocument;

    private Path dir;
    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private long t;

    @Setup(Level.Iteration)
    public void open() {
        dir = BenchDirs.create("ballast-ca");
        queue = SingleChronicleQueueBuilder.single(dir.toFile())
                .rollCycle(LargeRollCycles.HUGE_DAILY)
                .build();
        appender = queue.createAppender();
    }

    @TearDown(Level.Iteration)
    public void close() {
        appender.close();
        queue.close();
        BenchDirs.delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(RECORDS)
    public void append() {
        long time = t;
        for (int done = 0; done < RECORDS; ) {
            try (DocumentContext dc = appender.writingDocument()) {
                Bytes<?> b = dc.wire().bytes();
                for (int i = 0; i < recordsPerDocument && done < RECORDS; i++, done++) {
                    b.writeLong(21);
                    b.writeLong(time);
                    b.writeLong(0);
                    b.writeLong(time << 6);
                    b.writeLong(64);
                    time += 1_000;
                }
            }
        }
        t = time;
    }
}
