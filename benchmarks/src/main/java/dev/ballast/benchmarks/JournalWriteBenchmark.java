package dev.ballast.benchmarks;

import dev.ballast.core.event.EventType;
import dev.ballast.journal.JournalWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Events per second sustained from a producer thread through the Disruptor ring into the
 * Chronicle journal. The ring (64 Ki slots) applies back-pressure, so after the first few
 * milliseconds of an iteration the producer runs at the consumer's pace: the score is the
 * journal's sustained rate. A fresh journal per iteration keeps the disk use bounded.
 * Set up as Disruptor's {@code RingBufferBenchmark}: explicit forks and warm-up.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2)
@Threads(1)
@State(Scope.Benchmark)
public class JournalWriteBenchmark {
    static final int BURST = 1024;

    @Param({"SLEEPING"})
    public String waitStrategy;

    @Param({"4096"})
    public int recordsPerDocument;

    private Path dir;
    private JournalWriter writer;
    private long t;

    @Setup(Level.Iteration)
    public void open() {
        dir = BenchDirs.create("ballast-jw");
        JournalWriter.Settings settings = JournalWriter.Settings.defaults()
                .withWaitStrategy(JournalWriter.Wait.valueOf(waitStrategy))
                .withMaxRecordsPerDocument(recordsPerDocument);
        writer = JournalWriter.create(dir.resolve("journal"), Map.of("benchmark", "JournalWriteBenchmark"), settings);
    }

    @TearDown(Level.Iteration)
    public void close() {
        writer.close();
        BenchDirs.delete(dir);
    }

    /** One op = one event; a burst of page-send events as the engine's bulk stage publishes them. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public void publish() {
        JournalWriter w = writer;
        long time = t;
        for (int i = 0; i < BURST; i++) {
            w.publish(EventType.SEND_NORMAL, time, 0, time << 6, 64);
            time += 1_000;
        }
        t = time;
    }
}
