import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.device.GuestDevices;
import dev.ballast.kvm.guest.KvmGuest;
import dev.ballast.kvm.guest.WorkloadSettings;
import dev.ballast.kvm.guestabi.GuestAbi;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The claim of seed 001 on the KVM backend: inflate and deflate of SIZE with balloon messages as PFN
 * arrays (256 PFNs a message) against bitmaps (32768 bits a message). Run by scripts/balloon-speed.sh.
 *
 * <p>Per size, two guests of SIZE + 64 MiB (one per message kind, MUST_TELL_HOST, no poisoning) boot
 * side by side. Each repeat, in alternating order of the kinds: the guest writes every free page
 * (so the host backs them, as a guest's used memory is backed), frees them, inflates SIZE (timed:
 * OP_BALLOON returns once the host has taken every message and madvised the pages away), then
 * deflates SIZE (timed: with MUST_TELL_HOST the guest waits until the host has taken the messages).
 * With the argument "fresh" the guest writes nothing first: the pages it inflates were never backed,
 * so madvise has nothing to free and what is left is the cost of the messages. The first repeat is
 * a warm-up and not counted. Prints one line per measured operation, then
 * medians and ranges, and the per-repeat ratio bitmap/pfn.
 *
 * <p>usage: java -cp 'cli/target/app/lib/*' scripts/BalloonSpeed.java [sizes in MiB, e.g. 1024,2048,4096] [repeats] [touched|fresh]
 */
public class BalloonSpeed {
    record Op(long ns, long messages, long madvises, long pages) {}

    public static void main(String[] args) throws Exception {
        long[] sizesMiB = Arrays.stream((args.length > 0 ? args[0] : "1024,2048,4096").split(","))
                .mapToLong(Long::parseLong)
                .toArray();
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        boolean touch = args.length <= 2 || !args[2].equals("fresh");
        GuestFeatures f = new GuestFeatures(true, false, false, 0);
        System.out.println("size_mib kind op repeat ms messages madvise_calls pages");
        List<String> summary = new ArrayList<>();
        try (Kvm kvm = Kvm.open()) {
            for (long mib : sizesMiB) {
                long pages = (mib << 20) / GuestAbi.PAGE_SIZE;
                RamLayout layout = RamLayout.pcLike((mib + 64) << 20);
                KvmGuest[] g = new KvmGuest[2]; // 0: pfn, 1: bitmap
                try {
                    for (int k = 0; k < 2; k++) {
                        g[k] = KvmGuest.boot(kvm, layout, f, WorkloadSettings.commandsOnly(f, k == 1, 1));
                    }
                    long[][] inflate = new long[2][repeats];
                    long[][] deflate = new long[2][repeats];
                    Op[][] last = new Op[2][2];
                    for (int r = -1; r < repeats; r++) {
                        for (int j = 0; j < 2; j++) {
                            int k = (r & 1) == 0 ? j : 1 - j;
                            KvmGuest x = g[k];
                            if (touch) {
                                long free = x.call(GuestAbi.OP_STATS).arg(1);
                                x.call(GuestAbi.OP_ALLOC_WRITE, free, 0, 9);
                                x.call(GuestAbi.OP_FREE_OLDEST, 0);
                            }
                            Op in = timed(x, 1, pages);
                            Op out = timed(x, 0, pages);
                            if (in.pages != pages || out.pages != pages) {
                                throw new IllegalStateException("moved " + in.pages + "/" + out.pages + " of " + pages);
                            }
                            if (r >= 0) {
                                inflate[k][r] = in.ns;
                                deflate[k][r] = out.ns;
                                print(mib, k, "inflate", r, in);
                                print(mib, k, "deflate", r, out);
                            }
                            last[k][0] = in;
                            last[k][1] = out;
                        }
                    }
                    for (int op = 0; op < 2; op++) {
                        long[][] t = op == 0 ? inflate : deflate;
                        String name = op == 0 ? "inflate" : "deflate";
                        double[] ratio = new double[repeats];
                        for (int r = 0; r < repeats; r++) ratio[r] = (double) t[1][r] / t[0][r];
                        summary.add(String.format(
                                "%5d MiB %s  pfn %s ms (%d msgs, %d madvise)  bitmap %s ms (%d msgs, %d madvise)  bitmap/pfn %s  (%.0f %% faster)",
                                mib,
                                name,
                                spread(t[0]),
                                last[0][op].messages,
                                last[0][op].madvises,
                                spread(t[1]),
                                last[1][op].messages,
                                last[1][op].madvises,
                                spreadRatio(ratio),
                                100 * (1 - median(ratio))));
                    }
                } finally {
                    for (KvmGuest x : g) if (x != null) x.close();
                }
            }
        }
        System.out.println();
        System.out.println("medians [min-max] of " + repeats + " interleaved repeats after one warm-up, "
                + (touch ? "every page written before each inflate" : "pages never written (fresh)") + ":");
        summary.forEach(System.out::println);
    }

    static Op timed(KvmGuest g, int inflate, long pages) {
        GuestDevices.Stats s0 = g.devices().stats();
        long t0 = System.nanoTime();
        long moved = g.call(GuestAbi.OP_BALLOON, inflate, pages).arg(0);
        long ns = System.nanoTime() - t0;
        GuestDevices.Stats s1 = g.devices().stats();
        return new Op(ns, s1.balloonMessages() - s0.balloonMessages(), s1.madviseCalls() - s0.madviseCalls(), moved);
    }

    static void print(long mib, int k, String op, int r, Op o) {
        System.out.printf(
                "%d %s %s %d %.2f %d %d %d%n",
                mib, k == 0 ? "pfn" : "bitmap", op, r, o.ns / 1e6, o.messages, o.madvises, o.pages);
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String spread(long[] ns) {
        double[] ms = Arrays.stream(ns).mapToDouble(n -> n / 1e6).toArray();
        Arrays.sort(ms);
        return String.format("%.1f [%.1f-%.1f]", median(ms), ms[0], ms[ms.length - 1]);
    }

    static String spreadRatio(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format("%.2f [%.2f-%.2f]", median(s), s[0], s[s.length - 1]);
    }
}
