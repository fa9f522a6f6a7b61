package dev.ballast.qemu.backend;

import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import dev.ballast.core.run.WorkloadSpec;

/**
 * A workload spec turned into what Ballast's {@code /init} reads from the kernel command line ({@code ballast.*=},
 * pages and bytes per second) and what the host does around it (the balloon's target), with the simulator's and the
 * KVM guest's parameters and defaults:
 * <ul>
 *   <li>{@code idle}: {@code used} 4% stamped at boot, rewritten at {@code rate} 1MiB/s</li>
 *   <li>{@code memhog}: idle, plus {@code hog} 90% written and freed just before the migration (the guest caps it at
 *       its free memory less 24 MiB, and says how much it wrote)</li>
 *   <li>{@code compile}: {@code used} 4%, a working set {@code ws} 20% whose 1–16 page pieces are freed and
 *       allocated anew at {@code churn} 200MiB/s, rewrites at {@code rate} 100MiB/s</li>
 *   <li>{@code random-write}: {@code used} 50%, rewritten at {@code rate} 100MiB/s</li>
 *   <li>{@code balloon:P}: the host inflates the balloon (QMP {@code balloon}) to leave P% (25), {@code used} 50% of
 *       that, {@code rate} 1MiB/s</li>
 *   <li>{@code deflate-race:P}: like {@code balloon:P} (50); the host deflates the balloon fully once the migration
 *       runs, and the guest takes {@code step} 16MiB of new stamped pages every {@code every} 20ms while memory is
 *       free</li>
 * </ul>
 * {@code hint-order} and {@code late} are the simulated drivers' and are refused: the real driver decides both.
 *
 * @param kernelArgs  the {@code ballast.*} arguments for the guest
 * @param keepBytes   the balloon's target (QMP {@code balloon value}) before the migration, or 0 for no balloon
 * @param deflateWhileMigrating whether the host deflates the balloon fully while migrating
 */
record GuestWorkload(String kernelArgs, long keepBytes, boolean deflateWhileMigrating) {
    private static final long PAGE = 4096;

    static GuestWorkload of(WorkloadSpec spec, long memBytes, long seed) {
        for (String refused : new String[] {"hint-order", "late"}) {
            if (spec.params().containsKey(refused)) {
                throw new SettingException(
                        "workload",
                        spec.toString(),
                        refused + " is the simulated driver's: the real "
                                + "Linux driver of the qemu backend decides it");
            }
        }
        long total = memBytes / PAGE;
        StringBuilder a = new StringBuilder("ballast.workload=")
                .append(spec.name())
                .append(" ballast.seed=")
                .append(Long.toUnsignedString(seed));
        long keep = 0;
        boolean deflate = false;
        switch (spec.name()) {
            case "idle" -> {
                put(a, "used", pages(spec, "used", "4%", total));
                put(a, "rate", rate(spec, "rate", "1MiB/s"));
            }
            case "memhog" -> {
                put(a, "used", pages(spec, "used", "4%", total));
                put(a, "hog", pages(spec, "hog", "90%", total));
                put(a, "rate", rate(spec, "rate", "1MiB/s"));
            }
            case "compile" -> {
                put(a, "used", pages(spec, "used", "4%", total));
                put(a, "ws", pages(spec, "ws", "20%", total));
                put(a, "churn", rate(spec, "churn", "200MiB/s"));
                put(a, "rate", rate(spec, "rate", "100MiB/s"));
            }
            case "random-write" -> {
                put(a, "used", pages(spec, "used", "50%", total));
                put(a, "rate", rate(spec, "rate", "100MiB/s"));
            }
            case "balloon", "deflate-race" -> {
                deflate = spec.name().equals("deflate-race");
                double p = percent(spec, deflate ? 50 : 25);
                long keepPages = (long) (total * p / 100);
                keep = keepPages * PAGE;
                put(a, "used", pages(spec, "used", "50%", keepPages));
                put(a, "rate", rate(spec, "rate", "1MiB/s"));
                if (deflate) {
                    put(a, "step", pages(spec, "step", "16MiB", total));
                    put(a, "every", Units.parseDurationNs(spec.param("every", "20ms")) / 1000);
                }
            }
            default -> throw new SettingException("workload", spec.toString(), "unknown to the qemu backend");
        }
        return new GuestWorkload(a.toString(), keep, deflate);
    }

    private static void put(StringBuilder a, String key, long value) {
        a.append(" ballast.").append(key).append('=').append(value);
    }

    private static double percent(WorkloadSpec spec, double dflt) {
        if (spec.arg() == null) {
            return dflt;
        }
        try {
            double p = Double.parseDouble(spec.arg());
            if (p > 0 && p <= 100) {
                return p;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new SettingException(
                "workload", spec.toString(), "the share of RAM left outside the balloon must be in (0, 100]");
    }

    private static long pages(WorkloadSpec spec, String key, String dflt, long base) {
        String v = spec.param(key, dflt);
        try {
            if (v.endsWith("%")) {
                double f = Double.parseDouble(v.substring(0, v.length() - 1)) / 100;
                if (f >= 0 && f <= 1) {
                    return (long) (base * f);
                }
            } else {
                long bytes = Units.parseSize(v);
                if (bytes >= 0) {
                    return bytes / PAGE;
                }
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new SettingException(
                "workload", spec.toString(), key + "=" + v + ": expected a percentage (25%) or a size (512M)");
    }

    private static long rate(WorkloadSpec spec, String key, String dflt) {
        String v = spec.param(key, dflt);
        String s = v.endsWith("/s") ? v.substring(0, v.length() - 2) : v;
        try {
            long r = Units.parseSize(s);
            if (r >= 0) {
                return r;
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new SettingException(
                "workload", spec.toString(), key + "=" + v + ": expected bytes per second (100MiB/s)");
    }
}
