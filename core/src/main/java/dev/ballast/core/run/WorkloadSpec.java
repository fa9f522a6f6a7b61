package dev.ballast.core.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A workload and its parameters as the user wrote them: {@code name[:arg][,key=value...]}, for
 * example {@code idle}, {@code balloon:25}, {@code random-write,rate=200MiB/s}, or
 * {@code compile,ws=30%}. The backends give the parameters their meaning; which workload takes
 * which parameter, and which takes an argument, is said once here ({@link #KEYS}), so a key nobody
 * reads is refused instead of ignored.
 */
public record WorkloadSpec(String name, String arg, Map<String, String> params) {

    public static final java.util.List<String> NAMES =
            java.util.List.of("idle", "memhog", "compile", "random-write", "balloon", "deflate-race");

    /** The workloads that take an argument after ':' (the share of RAM left outside the balloon, in %). */
    public static final java.util.List<String> WITH_ARGUMENT = java.util.List.of("balloon", "deflate-race");

    /**
     * The parameters each workload takes: {@code used} (written at boot), {@code rate} (rewrites),
     * {@code hog}, {@code ws} (working set), {@code churn}, {@code step}, {@code every}, {@code late},
     * {@code from} (the deflate race), and {@code hint-order} (the size of the blocks the KVM guest hints).
     */
    public static final Map<String, java.util.List<String>> KEYS = Map.of(
            "idle", java.util.List.of("used", "rate", "hint-order"),
            "memhog", java.util.List.of("used", "hog", "rate", "hint-order"),
            "compile", java.util.List.of("used", "ws", "churn", "rate", "hint-order"),
            "random-write", java.util.List.of("used", "rate", "hint-order"),
            "balloon", java.util.List.of("used", "rate", "hint-order"),
            "deflate-race", java.util.List.of("used", "rate", "step", "every", "late", "from", "hint-order"));

    /**
     * What every workload takes besides its own keys: the simulated guest's kernel and drivers.
     * {@code hint-driver} ({@code linux}, the default, or {@code ideal}: {@link HintDriver}),
     * {@code init-on-alloc} (1: the allocator zeroes what it hands out, as distribution kernels boot
     * with {@code init_on_alloc=1}; 0, the default, as Linux's own configuration), {@code pressure}
     * (a share of RAM that an application keeps trying to allocate on top of the workload, so
     * allocations outgrow what is free; 0%, the default, is none) and {@code deflate-on-oom} (1: the
     * balloon device offers VIRTIO_BALLOON_F_DEFLATE_ON_OOM, so the guest takes pages back from the
     * balloon when an allocation finds nothing else; 0, the default, as QEMU's), {@code reporting}
     * (1: free page reporting, VIRTIO_BALLOON_F_REPORTING: the guest reports free 2 MiB blocks and
     * the host discards them; 0, the default) and {@code discard-poisoned} (1: the host discards
     * reported pages of a poisoning guest too; 0, the default, as QEMU, which keeps them),
     * {@code discard-hinted} (1: the host discards each range the guest hints free for the live
     * command id as it reads it, as Firecracker's balloon device does; 0, the default, as QEMU's)
     * and {@code hint-run} (1: before each migration the host runs a free page hint run of its own,
     * as Firecracker before a snapshot: a new command id, the guest's reports, done once the guest
     * has stopped; 0, the default). One is the host's alone, as it describes the machine the scenario runs on too:
     * {@code dirty-log} ({@code manual}, the default: the host re-arms the dirty log of a range when it sends the
     * range or a free page hint skips it, as QEMU on KVM with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2; {@code sync}: only a
     * sync clears the log, as QEMU under TCG or on KVM without that capability, so a write logged before a hint is
     * sent at the next pass all the same), and {@code sync-before-stop} (1: the host syncs the dirty log whenever
     * what is left to send would fit the downtime limit, in the middle of a pass if need be, and stops the guest only
     * if it still fits after that sync, as QEMU 7.2's {@code ram_save_pending}; 0, the default: a sync and a decision
     * at the end of each pass: {@code EngineConfig.syncBeforeStop}), {@code stop-uncapped} (1: the bandwidth is a cap
     * on the sender, as QEMU's {@code max-bandwidth}, lifted for the stop-and-copy as QEMU lifts it, over a link as fast
     * as the cost profile's; 0, the default: the bandwidth is the link's, to the end: {@code
     * EngineConfig.uncappedStop}), {@code hint-rate} (a rate such as 400MB/s: how fast
     * the hint driver reports free memory, in virtual time; by default at once, within a tick; a real driver's rate can
     * be read from a QEMU journal: its {@code remaining} falls by more than QEMU sends). And {@code os} (a size, 0 by
     * default): the memory the guest's
     * operating system holds, its kernel, modules, page tables and slab, written at boot before the workload and
     * never freed nor hinted; a real guest's own figure is measured inside it (the QEMU guest's {@code BALLAST OS}
     * console line). {@code os-top} (a size up to {@code os}, 0 by default) is the part of it at the top of RAM, the
     * rest being at the bottom: Linux's memblock allocates top-down at boot (its {@code struct page} array, page
     * tables, per-CPU areas), so a booted real guest has data at both ends (`scripts/os-footprint.py` counts it).
     * {@code os-freed} (a size up to {@code os} less {@code os-top}, 0 by default) is the part of it the boot left in
     * free memory (the compressed kernel its bootloader loaded): free, with data, overwritten by the next allocations.
     * {@code os-reserved} (a size, 0 by default) is memory the kernel holds and never writes (swiotlb's bounce
     * buffers): zero, and not free. The guest's free memory, which a memory hog sizes itself on, is then what a real
     * guest's kernel counts free, not the zero pages a migration finds. {@code min-free} (a size, 0 by default) is the
     * free memory the kernel keeps for its reserves (Linux's {@code vm.min_free_kbytes}, which khugepaged raises to
     * about 44 MiB on a 1 GiB guest with transparent huge pages): Linux's hint driver, whose allocations cannot
     * reclaim, takes no block that would leave less free, so that much free memory is never hinted.
     */
    public static final java.util.List<String> GUEST_KEYS = java.util.List.of(
            "hint-driver",
            "init-on-alloc",
            "pressure",
            "deflate-on-oom",
            "reporting",
            "discard-poisoned",
            "discard-hinted",
            "hint-run",
            "dirty-log",
            "sync-before-stop",
            "stop-uncapped",
            "hint-rate",
            "os",
            "os-top",
            "os-freed",
            "os-reserved",
            "min-free");

    /**
     * The {@link #GUEST_KEYS} the KVM backend's guest program runs too: free page reporting, the host's discards, its
     * hint driver (there {@code ideal} by default: the driver the KVM guest has always run), zeroing on allocation,
     * memory pressure with DEFLATE_ON_OOM, and the host's own hint runs.
     */
    public static final java.util.List<String> KVM_GUEST_KEYS = java.util.List.of(
            "reporting",
            "discard-poisoned",
            "discard-hinted",
            "hint-driver",
            "init-on-alloc",
            "pressure",
            "deflate-on-oom",
            "hint-run");

    public WorkloadSpec {
        if (!NAMES.contains(name)) {
            throw new SettingException("workload", name, "unknown workload (one of " + String.join(", ", NAMES) + ")");
        }
        if (arg != null && !WITH_ARGUMENT.contains(name)) {
            throw new SettingException(
                    "workload",
                    text(name, arg, params),
                    name + " takes no argument after ':' (only "
                            + String.join(
                                    " and ",
                                    WITH_ARGUMENT.stream().map(n -> n + ":P").toList()) + " do)");
        }
        for (String key : params.keySet()) {
            if (!KEYS.get(name).contains(key) && !GUEST_KEYS.contains(key)) {
                throw new SettingException(
                        "workload",
                        text(name, arg, params),
                        name + " takes no parameter '" + key + "' (it takes " + String.join(", ", KEYS.get(name))
                                + ")");
            }
        }
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        String text = text(name, arg, params);
        try {
            HintDriver.parse(params.getOrDefault("hint-driver", "linux"));
        } catch (SettingException e) {
            throw new SettingException("workload", text, "hint-driver=" + e.value() + ": " + e.rule());
        }
        flag(text, params, "init-on-alloc");
        flag(text, params, "deflate-on-oom");
        flag(text, params, "reporting");
        flag(text, params, "discard-poisoned");
        flag(text, params, "discard-hinted");
        flag(text, params, "hint-run");
        flag(text, params, "sync-before-stop");
        flag(text, params, "stop-uncapped");
        percent(text, params, "pressure");
        dirtyLogSyncOnly(text, params);
        osTopBytes(text, params);
        osFreedBytes(text, params);
        osReservedBytes(text, params);
        minFreeBytes(text, params);
        hintRateBytesPerSec(text, params);
    }

    private static long hintRateBytesPerSec(String text, Map<String, String> params) {
        String v = params.get("hint-rate");
        if (v == null) return -1;
        try {
            long b = Units.parseSize(v.endsWith("/s") ? v.substring(0, v.length() - 2) : v);
            if (b > 0) return b;
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new SettingException("workload", text, "hint-rate=" + v + ": expected a rate above 0, such as 400MB/s");
    }

    /** How fast the simulated hint driver reports free memory ({@code hint-rate}), in bytes a second; -1: at once. */
    public long hintRateBytesPerSec() {
        return hintRateBytesPerSec(toString(), params);
    }

    private static long osBytes(String text, Map<String, String> params) {
        return sizeUpTo(text, params, "os", Long.MAX_VALUE, null);
    }

    private static long osTopBytes(String text, Map<String, String> params) {
        return sizeUpTo(text, params, "os-top", osBytes(text, params), "os");
    }

    private static long osFreedBytes(String text, Map<String, String> params) {
        return sizeUpTo(text, params, "os-freed", osBytes(text, params) - osTopBytes(text, params), "os less os-top");
    }

    private static long osReservedBytes(String text, Map<String, String> params) {
        return sizeUpTo(text, params, "os-reserved", Long.MAX_VALUE, null);
    }

    /** A size key, 0 by default, at most {@code max} ({@code maxName} says what that is). */
    private static long sizeUpTo(String text, Map<String, String> params, String key, long max, String maxName) {
        String v = params.getOrDefault(key, "0");
        long b;
        try {
            b = Units.parseSize(v);
        } catch (IllegalArgumentException e) {
            b = -1;
        }
        if (b < 0 || b > max)
            throw new SettingException(
                    "workload",
                    text,
                    key + "=" + v + ": expected a size"
                            + (maxName == null ? " (84M)" : " up to " + maxName + " (" + Units.formatBytes(max) + ")"));
        return b;
    }

    /** The part of {@link #osBytes()} the boot left free, with its data ({@code os-freed}): see {@link #GUEST_KEYS}. */
    public long osFreedBytes() {
        return osFreedBytes(toString(), params);
    }

    private static long minFreeBytes(String text, Map<String, String> params) {
        return sizeUpTo(text, params, "min-free", Long.MAX_VALUE, null);
    }

    /** The free memory the guest's kernel keeps for its reserves ({@code min-free}): see {@link #GUEST_KEYS}. */
    public long minFreeBytes() {
        return minFreeBytes(toString(), params);
    }

    /** Zero memory the guest's kernel holds, not free ({@code os-reserved}): see {@link #GUEST_KEYS}. */
    public long osReservedBytes() {
        return osReservedBytes(toString(), params);
    }

    /** The part of {@link #osBytes()} at the top of RAM ({@code os-top}, 0 by default): see {@link #GUEST_KEYS}. */
    public long osTopBytes() {
        return osTopBytes(toString(), params);
    }

    /** The memory the guest's operating system holds from boot ({@code os}, 0 by default): see {@link #GUEST_KEYS}. */
    public long osBytes() {
        return osBytes(toString(), params);
    }

    /** Whether the bandwidth is a sender's cap lifted for the stop-and-copy ({@code stop-uncapped=1}): see {@link #GUEST_KEYS}. */
    public boolean uncappedStop() {
        return flag(toString(), params, "stop-uncapped");
    }

    /** Whether the host syncs before it decides to stop ({@code sync-before-stop=1}): see {@link #GUEST_KEYS}. */
    public boolean syncBeforeStop() {
        return flag(toString(), params, "sync-before-stop");
    }

    private static boolean dirtyLogSyncOnly(String text, Map<String, String> params) {
        String v = params.getOrDefault("dirty-log", "manual");
        if (!v.equals("manual") && !v.equals("sync"))
            throw new SettingException("workload", text, "dirty-log=" + v + ": expected manual or sync");
        return v.equals("sync");
    }

    /** Whether only a dirty-log sync clears the host's log ({@code dirty-log=sync}): see {@link #GUEST_KEYS}. */
    public boolean dirtyLogSyncOnly() {
        return dirtyLogSyncOnly(toString(), params);
    }

    private static boolean flag(String text, Map<String, String> params, String key) {
        String v = params.getOrDefault(key, "0");
        if (!v.equals("0") && !v.equals("1"))
            throw new SettingException("workload", text, key + "=" + v + ": expected 0 or 1");
        return v.equals("1");
    }

    private static double percent(String text, Map<String, String> params, String key) {
        String v = params.getOrDefault(key, "0%");
        String n = v.endsWith("%") ? v.substring(0, v.length() - 1) : v;
        try {
            double p = Double.parseDouble(n);
            if (p >= 0 && p <= 100) return p;
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new SettingException("workload", text, key + "=" + v + ": expected a percentage of RAM in [0, 100]");
    }

    /** The guest's free page hint driver ({@code hint-driver}, default {@code linux}). */
    public HintDriver hintDriver() {
        return HintDriver.parse(params.getOrDefault("hint-driver", "linux"));
    }

    /** Whether the guest's allocator zeroes what it hands out ({@code init-on-alloc=1}). */
    public boolean initOnAlloc() {
        return flag(toString(), params, "init-on-alloc");
    }

    /** Whether the balloon device offers DEFLATE_ON_OOM ({@code deflate-on-oom=1}). */
    public boolean deflateOnOom() {
        return flag(toString(), params, "deflate-on-oom");
    }

    /** Whether the guest reports free pages (free page reporting, {@code reporting=1}). */
    public boolean reporting() {
        return flag(toString(), params, "reporting");
    }

    /** Whether the host discards reported pages even of a poisoning guest ({@code discard-poisoned=1}). */
    public boolean discardPoisoned() {
        return flag(toString(), params, "discard-poisoned");
    }

    /** Whether the host discards the ranges the guest hints free, as it reads them ({@code discard-hinted=1}). */
    public boolean discardHinted() {
        return flag(toString(), params, "discard-hinted");
    }

    /** Whether the host runs a free page hint run of its own before each migration ({@code hint-run=1}). */
    public boolean hintRun() {
        return flag(toString(), params, "hint-run");
    }

    /** The share of RAM, in %, that an application keeps trying to allocate on top of the workload ({@code pressure}). */
    public double pressurePercent() {
        return percent(toString(), params, "pressure");
    }

    public static WorkloadSpec parse(String text) {
        if (text == null || text.isBlank()) throw new SettingException("workload", null, "empty");
        String[] parts = text.trim().split(",");
        String head = parts[0];
        String name = head;
        String arg = null;
        int colon = head.indexOf(':');
        if (colon >= 0) {
            name = head.substring(0, colon);
            arg = head.substring(colon + 1);
            if (arg.isEmpty()) throw new SettingException("workload", text, "nothing after ':'");
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) {
                throw new SettingException("workload", text, "parameter '" + p + "' is not key=value");
            }
            params.put(p.substring(0, eq), p.substring(eq + 1));
        }
        return new WorkloadSpec(name, arg, params);
    }

    /** A parameter, or the default when absent. */
    public String param(String key, String dflt) {
        return params.getOrDefault(key, dflt);
    }

    @Override
    public String toString() {
        return text(name, arg, params);
    }

    private static String text(String name, String arg, Map<String, String> params) {
        StringBuilder sb = new StringBuilder(name);
        if (arg != null) sb.append(':').append(arg);
        params.forEach((k, v) -> sb.append(',').append(k).append('=').append(v));
        return sb.toString();
    }
}
