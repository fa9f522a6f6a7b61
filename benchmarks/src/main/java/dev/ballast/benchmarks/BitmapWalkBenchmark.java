package dev.ballast.benchmarks;

import dev.ballast.core.mem.PageBitmap;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Walking a migration bitmap of an 8 GiB guest (2 Mi pages) run by run, as the engine does:
 * pages per second, for a bitmap with few pages set (most skipped) and with most set.
 * Score: pages looked at per microsecond.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BitmapWalkBenchmark {
    static final int PAGES = 1 << 21;

    /** Fraction of pages set, in percent; set pages come in runs of 1 to 64. */
    @Param({"1", "99"})
    public int setPercent;

    private PageBitmap bitmap;

    @Setup
    public void setup() {
        bitmap = new PageBitmap(PAGES);
        SplittableRandom r = new SplittableRandom(1);
        long target = (long) PAGES * setPercent / 100;
        while (bitmap.count() < target) {
            long s = r.nextLong(PAGES);
            bitmap.setRange(s, Math.min(PAGES, s + 1 + r.nextInt(64)));
        }
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public long walkRuns() {
        long pages = 0;
        long i = bitmap.nextSetBit(0);
        while (i >= 0) {
            long e = bitmap.nextClearBit(i, PAGES);
            pages += e - i;
            i = bitmap.nextSetBit(e);
        }
        return pages;
    }
}
