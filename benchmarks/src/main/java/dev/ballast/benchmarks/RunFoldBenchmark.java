package dev.ballast.benchmarks;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.RamLayout;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Events per second through the run's fold ({@link RunFold}, what the journal's consumer thread
 * feeds for checkpoints and what {@code inspect --at}, {@code diff} and the report read), on the
 * events of an 8 GiB guest's passes: a content answer and a send of 64 pages, pass after pass,
 * each pass after a sync that dirties the whole guest again (so every send after the first pass
 * is a resend the fold counts).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2)
@Threads(1)
@State(Scope.Thread)
public class RunFoldBenchmark {
    static final int BURST = 1024;
    static final long RUN = 64;

    private final RamLayout layout = RamLayout.pcLike(8L << 30);
    private RunFold fold;
    private long n;
    private long t;
    private int block;
    private long offset;
    private int pass;
    private long sync;

    @Setup(Level.Iteration)
    public void start() {
        fold = new RunFold(layout, 0, 8);
        n = 0;
        pass = 0;
        sync = 0;
        emit(EventType.STEP, 0, 0, 0);
        emit(EventType.PHASE, Phase.SETUP.ordinal(), 0, 0);
        newPass();
    }

    private void emit(EventType type, long a, long b, long c) {
        fold.apply(n++, type, t, a, b, c);
    }

    private void newPass() {
        emit(EventType.SYNC_BEGIN, sync, 0, 0);
        for (int i = 0; i < layout.blocks().size(); i++)
            emit(EventType.DIRTY, i, 0, layout.block(i).pages());
        emit(EventType.SYNC_END, sync, layout.totalPages(), 0);
        sync++;
        pass++;
        emit(EventType.PHASE, (pass == 1 ? Phase.BULK : Phase.ITERATE).ordinal(), pass, 0);
        block = 0;
        offset = 0;
    }

    /** One op = one event: a content answer or a send of 64 pages. */
    @Benchmark
    @OperationsPerInvocation(BURST)
    public long fold() {
        for (int i = 0; i < BURST; i += 2) {
            emit(EventType.CONTENT, block, offset, -RUN);
            emit(EventType.SEND_NORMAL, block, offset, RUN);
            t += 1_000;
            offset += RUN;
            if (offset + RUN > layout.block(block).pages()) {
                offset = 0;
                if (++block == layout.blocks().size()) newPass();
            }
        }
        return fold.eventNumber();
    }
}
