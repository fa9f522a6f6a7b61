import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import dev.ballast.kvm.backend.KvmRun;
import dev.ballast.kvm.guest.KvmGuest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The source VMM's resident guest memory over a KVM migration, with and without free page reporting and the host's
 * discards of hinted pages. Run by scripts/resident-kvm.sh.
 *
 * <p>One in-process migration per variant, the same scenario but for what the variant appends to the workload:
 * {@code none} nothing, {@code reporting} {@code ,reporting=1}, {@code hint-run} {@code ,hint-run=1,discard-hinted=1}
 * (the host's own hint run before the migration, discarding what the guest hints, as Firecracker's device),
 * {@code discard-hinted} {@code ,discard-hinted=1}; a variant may name its policy after a colon ({@code
 * discard-hinted:hint}), else the command line's. The host's hint run ends before the migration's setup, so its fall
 * shows in the first sample and in the HOST_HINT_RUN event, which is printed.
 *
 * <p>For each variant
 * from the moment the migration leaves its setup, a thread samples the source's resident guest RAM (present pages of
 * its RAM mapping that are not the shared zero page, from /proc/self/pagemap: {@link #rssPages}) every 100 ms until the run ends. Prints the
 * samples as "variant t_ms resident_MiB", then per variant the migration's time, bytes sent and resident memory at the
 * start, its lowest and at the last sample.
 *
 * <p>usage: java -cp 'cli/target/app/lib/*' scripts/ResidentKvm.java MEM_MIB WORKLOAD POLICY BANDWIDTH_BITS [VARIANTS]
 */
public class ResidentKvm {
    /**
     * Resident pages of the source's guest RAM: pages of its RAM blocks' mappings that /proc/self/pagemap shows
     * present and not mapped to the shared zero page (a migration's zero check of a never-written page maps that
     * page, which mincore, GuestMemory.residentRamPages, counts; /proc/self/smaps cannot tell this mapping from the
     * destination's when the kernel merged the two). Needs root for the PFNs. -1 once the guest is closed.
     */
    static long rssPages(KvmGuest g) {
        try (java.io.RandomAccessFile pm = new java.io.RandomAccessFile("/proc/self/pagemap", "r")) {
            long n = 0;
            byte[] buf = new byte[8 * 4096];
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(buf).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (var b : g.machine().memory().ramBlocks()) {
                long first = b.host().address() / 4096, pages = b.bytes() / 4096;
                for (long p = 0; p < pages; p += 4096) {
                    int k = (int) Math.min(4096, pages - p);
                    pm.seek((first + p) * 8);
                    pm.readFully(buf, 0, k * 8);
                    for (int i = 0; i < k; i++) {
                        long e = bb.getLong(i * 8);
                        if (e < 0 && (e & ((1L << 55) - 1)) != ZERO_PFN) n++;
                    }
                }
            }
            return n == 0 ? -1 : n; // a running guest always has pages (its devices' page at least): it is closed
        } catch (IllegalStateException closed) {
            return -1;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The PFN of the shared zero page: a private anonymous page read, never written. */
    static final long ZERO_PFN = zeroPfn();

    static long zeroPfn() {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined();
                java.io.RandomAccessFile pm = new java.io.RandomAccessFile("/proc/self/pagemap", "r")) {
            var m = dev.ballast.kvm.sys.LibC.mmapAnonymous("zero", 4096, a);
            m.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0);
            pm.seek(m.address() / 4096 * 8);
            long e = Long.reverseBytes(pm.readLong());
            if (e >= 0 || (e & ((1L << 55) - 1)) == 0)
                throw new IllegalStateException("no PFN in /proc/self/pagemap (run as root)");
            return e & ((1L << 55) - 1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static void main(String[] args) throws Exception {
        long mem = Long.parseLong(args[0]) << 20;
        String workload = args[1];
        String defaultPolicy = args[2];
        long bandwidth = Long.parseLong(args[3]);
        String[] variants = (args.length > 4 ? args[4] : "none,reporting").split(",");
        List<String> summary = new ArrayList<>();
        System.out.println("variant t_ms resident_MiB");
        for (String spec : variants) {
            String variant = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : spec;
            String policy = spec.contains(":") ? spec.substring(spec.indexOf(':') + 1) : defaultPolicy;
            String w = workload
                    + switch (variant) {
                        case "none" -> "";
                        case "reporting" -> ",reporting=1";
                        case "hint-run" -> ",hint-run=1,discard-hinted=1";
                        case "discard-hinted" -> ",discard-hinted=1";
                        default ->
                            throw new IllegalArgumentException(
                                    "variant " + variant + ": none, reporting, hint-run or discard-hinted");
                    };
            Scenario s = new Scenario(
                    "kvm",
                    mem,
                    WorkloadSpec.parse(w),
                    policy,
                    1,
                    bandwidth,
                    2_000_000_000L,
                    30,
                    0,
                    1,
                    null,
                    0,
                    true,
                    BalloonMessages.PFN,
                    Scenario.MIN_COMMAND_ID,
                    CostProfile.defaults());
            AtomicReference<KvmGuest> source = new AtomicReference<>();
            List<long[]> samples = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread sampler = Thread.ofPlatform().daemon(true).start(() -> {
                long t0 = -1;
                while (!done.get()) {
                    KvmGuest g = source.get();
                    if (g != null) {
                        long now = System.nanoTime();
                        if (t0 < 0) t0 = now;
                        long pages = rssPages(g);
                        if (pages < 0) break;
                        samples.add(new long[] {(now - t0) / 1_000_000, pages});
                    }
                    try {
                        Thread.sleep(g == null ? 1 : 100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            RunReport r;
            long[] hintRun = {-1, 0};
            long[] discarded = {0};
            EventSink events = (type, t, a, b, c) -> {
                if (type == EventType.HOST_HINT_RUN) {
                    hintRun[0] = a;
                    hintRun[1] = b;
                } else if (type == EventType.HOST_DISCARD) {
                    synchronized (discarded) {
                        discarded[0] += EventType.HostDiscard.pages(c);
                    }
                }
            };
            try {
                r = new KvmRun(s, events, Backend.Progress.NONE, new KvmRun.Hooks(null, source::set)).run();
            } finally {
                done.set(true);
                sampler.join();
            }
            long first = samples.isEmpty() ? -1 : samples.getFirst()[1];
            long min = samples.stream().mapToLong(x -> x[1]).min().orElse(-1);
            long last = samples.isEmpty() ? -1 : samples.getLast()[1];
            for (long[] x : samples) System.out.printf("%s %d %.1f%n", variant, x[0], x[1] * 4096 / 1048576.0);
            summary.add(String.format(
                    "%-9s %s %s: %s in %.0f ms, %.1f MiB sent, verify %s; source resident at the start %.0f MiB, lowest %.0f MiB, last sample %.0f MiB; host discards %.0f MiB%s",
                    variant,
                    w,
                    policy,
                    r.outcome(),
                    r.totalTimeMs(),
                    r.transferredBytes() / 1048576.0,
                    r.verify().ok() ? "ok" : r.verify().violation(),
                    first * 4096 / 1048576.0,
                    min * 4096 / 1048576.0,
                    last * 4096 / 1048576.0,
                    discarded[0] * 4096 / 1048576.0,
                    hintRun[0] < 0
                            ? ""
                            : String.format(
                                    "; host's hint run before the migration %.1f ms, released %.0f MiB",
                                    hintRun[0] / 1e6, hintRun[1] * 4096 / 1048576.0)));
        }
        System.out.println();
        summary.forEach(System.out::println);
    }
}
