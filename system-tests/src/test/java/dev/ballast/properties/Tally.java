package dev.ballast.properties;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.lifecycle.AroundContainerHook;
import net.jqwik.api.lifecycle.ContainerLifecycleContext;

/**
 * Counts the migrations the suite runs and the time they take, for the figures the README gives
 * (simulated migrations per minute; random migrations a CI run checks). Each property class
 * reports its share when it ends; the running totals go to {@code target/properties-tally.txt}.
 */
final class Tally {
    private Tally() {}

    /** A property class's share, reported when the class ends: {@code @AddLifecycleHook(Tally.PerClass.class)}. */
    static final class PerClass implements AroundContainerHook {
        private static final Map<String, long[]> STARTED = new ConcurrentHashMap<>();

        private static String name(ContainerLifecycleContext c) {
            return c.optionalContainerClass().map(Class::getSimpleName).orElse(c.label());
        }

        @Override
        public void beforeContainer(ContainerLifecycleContext c) {
            long[] s = snapshot();
            long[] withStart = Arrays.copyOf(s, s.length + 1);
            withStart[s.length] = System.nanoTime();
            STARTED.put(name(c), withStart);
        }

        @Override
        public void afterContainer(ContainerLifecycleContext c) {
            long[] b = STARTED.remove(name(c));
            if (b != null) report(name(c), Arrays.copyOf(b, b.length - 1), System.nanoTime() - b[b.length - 1]);
        }
    }

    private static final AtomicLong MIGRATIONS = new AtomicLong();
    private static final AtomicLong NANOS = new AtomicLong();
    private static final AtomicLong KVM_MIGRATIONS = new AtomicLong();
    private static final AtomicLong KVM_NANOS = new AtomicLong();
    private static final AtomicLong WIRE_STREAMS = new AtomicLong();

    static void migration(long nanos) {
        MIGRATIONS.incrementAndGet();
        NANOS.addAndGet(nanos);
    }

    static void kvmMigration(long nanos) {
        KVM_MIGRATIONS.incrementAndGet();
        KVM_NANOS.addAndGet(nanos);
    }

    static void wireStream() {
        WIRE_STREAMS.incrementAndGet();
    }

    /** A snapshot: simulated migrations, their nanoseconds, KVM migrations, their nanoseconds, wire streams. */
    static long[] snapshot() {
        return new long[] {MIGRATIONS.get(), NANOS.get(), KVM_MIGRATIONS.get(), KVM_NANOS.get(), WIRE_STREAMS.get()};
    }

    /** Prints what happened since {@code before} (a snapshot) under {@code who}, and writes the totals. */
    static void report(String who, long[] before, long wallNanos) {
        long[] now = snapshot();
        long sims = now[0] - before[0];
        double simSec = (now[1] - before[1]) / 1e9;
        long kvm = now[2] - before[2];
        long wire = now[4] - before[4];
        StringBuilder sb = new StringBuilder(String.format(
                Locale.ROOT,
                "[properties] %s: %d simulated migrations in %.1f s of runs (%.0f a minute)",
                who,
                sims,
                simSec,
                simSec > 0 ? sims / simSec * 60 : 0));
        if (kvm > 0)
            sb.append(String.format(Locale.ROOT, ", %d KVM migrations in %.1f s", kvm, (now[3] - before[3]) / 1e9));
        if (wire > 0) sb.append(", ").append(wire).append(" wire streams");
        sb.append(String.format(Locale.ROOT, "; %.1f s in all", wallNanos / 1e9));
        System.out.println(sb);
        String totals = String.format(
                Locale.ROOT,
                "simulated migrations %d (%.1f s, %.0f a minute)%nKVM migrations %d (%.1f s)%nwire streams %d%n",
                now[0],
                now[1] / 1e9,
                now[1] > 0 ? now[0] / (now[1] / 1e9) * 60 : 0,
                now[2],
                now[3] / 1e9,
                now[4]);
        try {
            Path p = Path.of("target", "properties-tally.txt");
            Files.createDirectories(p.getParent());
            Files.writeString(p, totals);
        } catch (IOException e) {
            System.out.println("[properties] cannot write the tally: " + e);
        }
    }
}
