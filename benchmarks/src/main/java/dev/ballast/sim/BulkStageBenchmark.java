package dev.ballast.sim;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.run.CostProfile;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The simulated bulk stage of an 8 GiB guest (2 Mi pages): the engine walks the migration bitmap
 * and the simulated link moves the pages, with the journal off. {@code sent}: every page holds
 * data and goes out; {@code skipped}: 95% of the guest is in the balloon and skipped; {@code sink}
 * {@code fold}: the events also go through a {@link RunFold}, as in a simulated run. Score: guest
 * pages per microsecond of real time. (Lives in the simulator's package to build its parts.)
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
public class BulkStageBenchmark {
    static final long BYTES = 8L << 30;
    static final int PAGES = (int) (BYTES / RamLayout.PAGE_SIZE);

    @Param({"sent", "skipped"})
    public String bitmap;

    /** Where the events go: nowhere, or through the run's fold as a simulated run's hop feeds them. */
    @Param({"none", "fold"})
    public String sink;

    private MigrationEngine engine;

    @Setup(Level.Invocation)
    public void setup() {
        RamLayout layout = RamLayout.pcLike(BYTES);
        CostProfile profile = CostProfile.defaults();
        SimCosts costs = new SimCosts(profile, 0);
        GuestFeatures features = new GuestFeatures(true, false, false, 0);
        SimCheckers checkers = new SimCheckers(layout, features.poisonByte());
        SimGuest guest =
                new SimGuest(new SimGuest.Setup(layout, features, false, costs, checkers, SimOptions.DEFAULTS));
        if (bitmap.equals("sent")) {
            for (RamBlock b : layout.blocks()) {
                long from = Math.max(b.firstIndex(), 2);
                guest.alloc.take(from, b.endIndex() - from);
                guest.writeRange(from, b.endIndex() - from);
            }
        } else {
            guest.inflate(PAGES * 95L / 100, false);
        }
        SimLink link = new SimLink(guest, new SimDestination(layout), costs, checkers.resend, -1, -1);
        EngineConfig cfg = EngineConfig.defaults().withLimits(0, 2_000_000_000L, 30, 0);
        EventSink events = sink.equals("fold")
                ? EventSink.both(EventSink.NONE, new RunFold(layout, 0, cfg.pageHeaderBytes()))
                : EventSink.NONE;
        engine = new MigrationEngine(cfg, guest, link, new BalloonPolicy(), events, costs);
        engine.doWork(); // setup
    }

    @Benchmark
    @OperationsPerInvocation(PAGES)
    public int bulkStage() {
        int steps = 0;
        while (engine.phase() == Phase.BULK && engine.iteration() == 1) {
            engine.doWork();
            steps++;
        }
        return steps;
    }
}
