package dev.ballast.benchmarks;

import dev.ballast.core.event.EventType;
import dev.ballast.journal.EventRecord;
import dev.ballast.journal.JournalReader;
import dev.ballast.journal.JournalWriter;
import java.nio.file.Path;
import java.util.Map;
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
 * Reading a journal of {@value #EVENTS} events (400 MB, in the page cache): records per second
 * through the cursor (every batch's checksum checked), verifying the digest of the whole journal,
 * and random seeks.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2)
@State(Scope.Benchmark)
public class JournalReadBenchmark {
    static final int EVENTS = 10_000_000;
    static final int CHUNK = 1_000_000;

    private Path dir;
    private JournalReader reader;
    private final SplittableRandom random = new SplittableRandom(42);

    @Setup(Level.Trial)
    public void write() {
        dir = BenchDirs.create("ballast-jr");
        EventType[] types = EventType.values();
        try (JournalWriter w =
                JournalWriter.create(dir.resolve("journal"), Map.of("benchmark", "JournalReadBenchmark"))) {
            for (int i = 0; i < EVENTS; i++) {
                w.publish(types[i % types.length], i * 1_000L, i & 3, (long) i << 6, 64);
            }
        }
        reader = JournalReader.open(dir.resolve("journal"));
    }

    @TearDown(Level.Trial)
    public void delete() {
        reader.close();
        BenchDirs.delete(dir);
    }

    /** One op = one record read through the cursor (flyweight, no allocation). */
    @Benchmark
    @OperationsPerInvocation(CHUNK)
    public long read() {
        JournalReader r = reader;
        long sum = 0;
        for (int i = 0; i < CHUNK; i++) {
            if (!r.next()) {
                r.seek(0);
                r.next();
            }
            EventRecord e = r.record();
            sum += e.b() ^ e.typeId();
        }
        return sum;
    }

    /** One op = one record: the whole journal re-read and its digest compared with the footer. */
    @Benchmark
    @OperationsPerInvocation(EVENTS)
    public long verifyDigest() {
        return reader.verifyDigest();
    }

    /** One op = a seek to a random event and reading it. */
    @Benchmark
    public long seek() {
        JournalReader r = reader;
        r.seek(random.nextLong(EVENTS));
        r.next();
        return r.record().a();
    }
}
