import dev.ballast.core.event.EventSink;
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
 * The source VMM's resident guest memory over a KVM migration, with and without free page reporting. Run by
 * scripts/resident-kvm.sh.
 *
 * <p>One in-process migration per variant (the same scenario but for {@code ,reporting=1} appended to the workload):
 * from the moment the migration leaves its setup, a thread samples the source's resident guest RAM (present pages of
 * its RAM mapping that are not the shared zero page, from /proc/self/pagemap: {@link #rssPages}) every 100 ms until the run ends. Prints the
 * samples as "variant t_ms resident_MiB", then per variant the migration's time, bytes sent and resident memory at the
 * start, its lowest and at the last sample.
 *
 * <p>usage: java -cp 'cli/target/app/lib/*' scripts/ResidentKvm.java MEM_MIB WORKLOAD POLICY BANDWIDTH_BITS
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
        String policy = args[2];
        long bandwidth = Long.parseLong(args[3]);
        List<String> summary = new ArrayList<>();
        System.out.println("variant t_ms resident_MiB");
        for (String variant : new String[] {"none", "reporting"}) {
            String w = variant.equals("reporting") ? workload + ",reporting=1" : workload;
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
            try {
                r = new KvmRun(s, EventSink.NONE, Backend.Progress.NONE, new KvmRun.Hooks(null, source::set)).run();
            } finally {
                done.set(true);
                sampler.join();
            }
            long first = samples.isEmpty() ? -1 : samples.getFirst()[1];
            long min = samples.stream().mapToLong(x -> x[1]).min().orElse(-1);
            long last = samples.isEmpty() ? -1 : samples.getLast()[1];
            for (long[] x : samples) System.out.printf("%s %d %.1f%n", variant, x[0], x[1] * 4096 / 1048576.0);
            summary.add(String.format(
                    "%-9s %s %s: %s in %.0f ms, %.1f MiB sent, verify %s; source resident at the start %.0f MiB, lowest %.0f MiB, last sample %.0f MiB",
                    variant,
                    w,
                    policy,
                    r.outcome(),
                    r.totalTimeMs(),
                    r.transferredBytes() / 1048576.0,
                    r.verify().ok() ? "ok" : r.verify().violation(),
                    first * 4096 / 1048576.0,
                    min * 4096 / 1048576.0,
                    last * 4096 / 1048576.0));
        }
        System.out.println();
        summary.forEach(System.out::println);
    }
}
