import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * What one page named in a PFN array costs on this machine, for the simulator's BalloonCosts.pfnNsPerPage: the
 * guest's write of the PFN into the message's 4 KiB buffer and the KVM device's read of it and its run merging
 * (the loop of GuestDevices.balloonMessage for a PFN array), per page. The message's transfer is not in it
 * (BalloonCosts.messageNs, measured by scripts/balloon-speed.sh).
 *
 * <p>usage: java scripts/BalloonPfnCost.java [rounds, default 9]   prints the median [min-max] ns per page
 */
public class BalloonPfnCost {
    static final int PFNS = 256;
    static long sink;

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        int messages = 200_000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(4096, 4096);
            double[] ns = new double[rounds];
            for (int r = -3; r < rounds; r++) { // three warm-up rounds
                long t0 = System.nanoTime();
                long base = 0x100000;
                for (int m = 0; m < messages; m++) {
                    for (int i = 0; i < PFNS; i++) buf.setAtIndex(JAVA_INT, i, (int) (base + i)); // the guest
                    sink += decode(buf); // the device
                    base += PFNS;
                }
                double perPage = (System.nanoTime() - t0) / (double) messages / PFNS;
                if (r >= 0) ns[r] = perPage;
            }
            Arrays.sort(ns);
            System.out.printf(
                    "pfn array: %.2f [%.2f-%.2f] ns a page (median [min-max] of %d rounds of %d messages)%n",
                    ns[rounds / 2], ns[0], ns[rounds - 1], rounds, messages);
            if (sink == 42) System.out.println();
        }
    }

    /** As the device: reads each PFN and merges contiguous ones into runs; returns a digest of the runs. */
    static long decode(MemorySegment buf) {
        long runStart = -1;
        long runPages = 0;
        long runs = 0;
        for (long i = 0; i < PFNS; i++) {
            long pfn = Integer.toUnsignedLong(buf.getAtIndex(JAVA_INT, i));
            if (runPages > 0 && runStart + runPages == pfn) {
                runPages++;
                continue;
            }
            if (runPages > 0) runs += runStart ^ runPages;
            runStart = pfn;
            runPages = 1;
        }
        return runs + (runStart ^ runPages);
    }
}
