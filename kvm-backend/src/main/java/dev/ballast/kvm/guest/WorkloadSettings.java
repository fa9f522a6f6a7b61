package dev.ballast.kvm.guest;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Units;
import dev.ballast.core.run.WorkloadSpec;
import dev.ballast.kvm.guestabi.GuestAbi;

/**
 * A workload spec turned into the guest program's settings ({@code WL_*} of {@code abi.h}), with
 * the simulator's parameters and defaults ({@code dev.ballast.sim.Workload}):
 * <ul>
 *   <li>{@code idle}: {@code used} 4% written at boot, rewrites at {@code rate} 1MiB/s</li>
 *   <li>{@code memhog}: idle, plus {@code hog} 90% written and freed just before the migration</li>
 *   <li>{@code compile}: {@code used} 4%, a working set {@code ws} 20% of 1–16 page allocations
 *       churning at {@code churn} 200MiB/s (the oldest freed), rewrites at {@code rate} 100MiB/s</li>
 *   <li>{@code random-write}: {@code used} 50%, rewrites at {@code rate} 100MiB/s</li>
 *   <li>{@code balloon:P}: all but P% (25) in the balloon, {@code used} 50% of the rest, {@code rate} 1MiB/s</li>
 *   <li>{@code deflate-race:P}: like {@code balloon:P} (50), and {@code step} 16MiB deflated every
 *       {@code every} 20ms and written at once; told {@code late} 30ms later without MUST_TELL_HOST</li>
 * </ul>
 * Free page hints report aligned free blocks of 2^{@code hint-order} pages (10, as Linux). With
 * {@code reporting=1} the guest reports free 2 MiB blocks {@link #REPORT_DELAY_US} after it freed memory
 * (and after boot) and the host discards them, unless free pages are poisoned and
 * {@code discard-poisoned=1} was not given. The guest kernel's keys: {@code hint-driver} ({@code ideal}, the
 * default here, {@code linux} or {@code linux-acked}: {@link #hintDriverFlags}), {@code init-on-alloc=1},
 * {@code deflate-on-oom=1} and {@code pressure=P%} (P % of RAM, {@code WL_PRESSURE_PAGES}).
 */
public final class WorkloadSettings {
    private WorkloadSettings() {}

    /** Free page reporting runs this long after memory was freed (Linux's {@code PAGE_REPORTING_DELAY}, 2 s). */
    public static final long REPORT_DELAY_US = 2_000_000;

    public static long[] of(
            WorkloadSpec spec, GuestFeatures features, boolean balloonBitmaps, RamLayout layout, long seed) {
        long total = layout.totalPages();
        long[] wl = new long[GuestAbi.WL_COUNT];
        wl[GuestAbi.WL_SEED] = seed;
        wl[GuestAbi.WL_POISON] = features.poisonByte();
        wl[GuestAbi.WL_FLAGS] = (features.mustTellHost() ? GuestAbi.WF_MUST_TELL_HOST : 0)
                | (balloonBitmaps ? GuestAbi.WF_BALLOON_BITMAP : 0)
                | (features.freePageHint() ? GuestAbi.WF_FREE_PAGE_HINT : 0)
                | (features.freeBitmap() ? GuestAbi.WF_FREE_BITMAP : 0)
                | (spec.reporting() ? GuestAbi.WF_REPORTING : 0)
                | (spec.discardPoisoned() ? GuestAbi.WF_DISCARD_POISONED : 0)
                | (spec.param("discard-hinted", "0").equals("1") ? GuestAbi.WF_DISCARD_HINTED : 0)
                | hintDriverFlags(spec)
                | (spec.initOnAlloc() ? GuestAbi.WF_INIT_ON_ALLOC : 0)
                | (spec.deflateOnOom() ? GuestAbi.WF_DEFLATE_ON_OOM : 0);
        wl[GuestAbi.WL_PRESSURE_PAGES] = (long) (total * spec.pressurePercent() / 100);
        wl[GuestAbi.WL_REPORT_DELAY_US] = REPORT_DELAY_US;
        long order = num(spec, "hint-order", "10");
        if (order < 0 || order > 18) {
            throw new IllegalArgumentException("workload " + spec + ": hint-order=" + order + ": must be in [0, 18]");
        }
        wl[GuestAbi.WL_HINT_ORDER] = order;
        switch (spec.name()) {
            case "idle" -> {
                wl[GuestAbi.WL_KIND] = GuestAbi.WK_IDLE;
                wl[GuestAbi.WL_USED_PAGES] = pages(spec, "used", "4%", total);
                wl[GuestAbi.WL_RATE_BPS] = rate(spec, "rate", "1MiB/s");
            }
            case "memhog" -> {
                wl[GuestAbi.WL_KIND] = GuestAbi.WK_MEMHOG;
                wl[GuestAbi.WL_USED_PAGES] = pages(spec, "used", "4%", total);
                wl[GuestAbi.WL_HOG_PAGES] = pages(spec, "hog", "90%", total);
                wl[GuestAbi.WL_RATE_BPS] = rate(spec, "rate", "1MiB/s");
            }
            case "compile" -> {
                wl[GuestAbi.WL_KIND] = GuestAbi.WK_COMPILE;
                wl[GuestAbi.WL_USED_PAGES] = pages(spec, "used", "4%", total);
                wl[GuestAbi.WL_WS_PAGES] = pages(spec, "ws", "20%", total);
                wl[GuestAbi.WL_CHURN_BPS] = rate(spec, "churn", "200MiB/s");
                wl[GuestAbi.WL_RATE_BPS] = rate(spec, "rate", "100MiB/s");
            }
            case "random-write" -> {
                wl[GuestAbi.WL_KIND] = GuestAbi.WK_RANDOM_WRITE;
                wl[GuestAbi.WL_USED_PAGES] = pages(spec, "used", "50%", total);
                wl[GuestAbi.WL_RATE_BPS] = rate(spec, "rate", "100MiB/s");
            }
            case "balloon", "deflate-race" -> {
                boolean race = spec.name().equals("deflate-race");
                long keep = (long) (total * percentArg(spec, race ? 50 : 25) / 100);
                wl[GuestAbi.WL_KIND] = race ? GuestAbi.WK_DEFLATE_RACE : GuestAbi.WK_BALLOON;
                wl[GuestAbi.WL_KEEP_PAGES] = keep;
                wl[GuestAbi.WL_USED_PAGES] = pages(spec, "used", "50%", keep);
                wl[GuestAbi.WL_RATE_BPS] = rate(spec, "rate", "1MiB/s");
                if (race) {
                    wl[GuestAbi.WL_STEP_PAGES] = pages(spec, "step", "16MiB", total);
                    wl[GuestAbi.WL_EVERY_US] = micros(spec, "every", "20ms");
                    wl[GuestAbi.WL_LATE_US] = micros(spec, "late", "30ms");
                }
            }
            default -> throw new IllegalArgumentException("workload=" + spec.name() + ": unknown");
        }
        return wl;
    }

    /**
     * The hint driver's flags: {@code ideal} when the workload names none (the KVM guest's driver before Linux's was
     * modelled, unlike the simulator, whose default is {@code linux}), {@code linux} as Linux ships it,
     * {@code linux-acked} with the shrinker that waits for the host (docs/findings.md, finding 1).
     */
    static long hintDriverFlags(WorkloadSpec spec) {
        if (!spec.params().containsKey("hint-driver")) return 0;
        return switch (spec.hintDriver()) {
            case IDEAL -> 0;
            case LINUX -> GuestAbi.WF_LINUX_HINTS;
            case LINUX_ACKED -> GuestAbi.WF_LINUX_HINTS | GuestAbi.WF_HINTS_ACKED;
        };
    }

    /** Settings for a guest that only answers commands (tests); without MUST_TELL_HOST it tells of a deflate 200 ms late. */
    public static long[] commandsOnly(GuestFeatures features, boolean balloonBitmaps, long seed) {
        long[] wl = new long[GuestAbi.WL_COUNT];
        wl[GuestAbi.WL_KIND] = GuestAbi.WK_NONE;
        wl[GuestAbi.WL_SEED] = seed;
        wl[GuestAbi.WL_POISON] = features.poisonByte();
        wl[GuestAbi.WL_FLAGS] = (features.mustTellHost() ? GuestAbi.WF_MUST_TELL_HOST : 0)
                | (balloonBitmaps ? GuestAbi.WF_BALLOON_BITMAP : 0)
                | (features.freePageHint() ? GuestAbi.WF_FREE_PAGE_HINT : 0)
                | (features.freeBitmap() ? GuestAbi.WF_FREE_BITMAP : 0);
        wl[GuestAbi.WL_HINT_ORDER] = 10;
        wl[GuestAbi.WL_LATE_US] = 200_000;
        return wl;
    }

    private static long pages(WorkloadSpec spec, String key, String dflt, long base) {
        String v = spec.param(key, dflt);
        try {
            if (v.endsWith("%")) {
                double f = Double.parseDouble(v.substring(0, v.length() - 1)) / 100;
                if (!(f >= 0 && f <= 1)) {
                    throw new IllegalArgumentException();
                }
                return (long) (base * f);
            }
            return Units.parseSize(v) / RamLayout.PAGE_SIZE;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("workload " + spec.name() + ": " + key + "=" + v
                    + ": expected a percentage (25%) or a size (512M)");
        }
    }

    private static long rate(WorkloadSpec spec, String key, String dflt) {
        String v = spec.param(key, dflt);
        String s = v.endsWith("/s") ? v.substring(0, v.length() - 2) : v;
        try {
            return Units.parseSize(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec.name() + ": " + key + "=" + v + ": expected a rate such as 100MiB/s");
        }
    }

    private static long micros(WorkloadSpec spec, String key, String dflt) {
        String v = spec.param(key, dflt);
        try {
            return Units.parseDurationNs(v) / 1000;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec.name() + ": " + key + "=" + v + ": expected a duration such as 20ms");
        }
    }

    private static long num(WorkloadSpec spec, String key, String dflt) {
        String v = spec.param(key, dflt);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "workload " + spec.name() + ": " + key + "=" + v + ": expected a whole number");
        }
    }

    private static double percentArg(WorkloadSpec spec, double dflt) {
        if (spec.arg() == null) {
            return dflt;
        }
        try {
            String a = spec.arg().endsWith("%")
                    ? spec.arg().substring(0, spec.arg().length() - 1)
                    : spec.arg();
            double p = Double.parseDouble(a);
            if (!(p > 0 && p <= 100)) {
                throw new IllegalArgumentException();
            }
            return p;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "workload " + spec + ": '" + spec.arg() + "' must be a percentage in (0, 100]");
        }
    }
}
