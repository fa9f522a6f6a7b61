package dev.ballast.benchmarks;

import dev.ballast.core.event.EventType;
import dev.ballast.journal.JournalWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * What each wait strategy costs when the journal is not the bottleneck: a producer publishes at a
 * steady, modest rate (like a simulation or a real migration), and the probe reports the CPU time
 * the journal's consumer thread burns per second of wall time. Throughput under full load is
 * {@link JournalWriteBenchmark}'s job. Run:
 * <pre>
 *   java $(ballast.jvmFlags) -cp benchmarks/target/benchmarks.jar dev.ballast.benchmarks.WaitStrategyProbe [events/s] [seconds]
 * </pre>
 */
public final class WaitStrategyProbe {
    private WaitStrategyProbe() {}

    @SuppressWarnings(
            "try") // the writer is closed inside its block on purpose: its event count is final only after close
    public static void main(String[] args) throws Exception {
        long ratePerS = args.length > 0 ? Long.parseLong(args[0]) : 200_000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        System.out.printf("producer paced at %,d events/s in bursts of 100, %d s per strategy%n", ratePerS, seconds);
        System.out.printf("%-13s %18s %16s%n", "strategy", "consumer CPU %", "events written");
        for (JournalWriter.Wait wait : JournalWriter.Wait.values()) {
            Path dir = BenchDirs.create("ballast-wsp");
            try (JournalWriter w = JournalWriter.create(
                    dir.resolve("journal"),
                    Map.of(),
                    JournalWriter.Settings.defaults().withWaitStrategy(wait))) {
                Thread consumer = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().equals("ballast-journal-journal"))
                        .findFirst()
                        .orElseThrow();
                long cpu0 = mx.getThreadCpuTime(consumer.threadId());
                long t0 = System.nanoTime();
                long end = t0 + seconds * 1_000_000_000L;
                long published = 0;
                long burstNs = 100 * 1_000_000_000L / ratePerS;
                for (long next = t0; next < end; next += burstNs) {
                    for (int i = 0; i < 100; i++) w.publish(EventType.DIRTY, published, 0, published++, 1);
                    long sleep = next + burstNs - System.nanoTime();
                    if (sleep > 0) LockSupport.parkNanos(sleep);
                }
                long wall = System.nanoTime() - t0;
                long cpu = mx.getThreadCpuTime(consumer.threadId()) - cpu0;
                w.close();
                System.out.printf("%-13s %17.1f%% %,16d%n", wait, 100.0 * cpu / wall, w.events());
            } finally {
                BenchDirs.delete(dir);
            }
        }
    }
}
