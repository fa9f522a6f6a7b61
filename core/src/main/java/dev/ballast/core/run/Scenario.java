package dev.ballast.core.run;

import dev.ballast.core.engine.Postcopy;

/**
 * Everything that defines one migration run, typed and checked once here (as Aeron's
 * {@code Context.conclude()}): a value the scenario refuses is one {@link SettingException} naming
 * the setting, the value and the rule. A backend checks what only it knows ({@link Backend#check});
 * nothing downstream re-checks or re-parses.
 *
 * @param backend          the name of the backend that runs it ({@link Backend#name()}: "sim", "kvm", ...)
 * @param guestMemBytes    guest RAM; over 3 GiB it is laid out PC-like with a hole below 4 GiB
 * @param workload         what the guest does
 * @param policy           the migration policy's name
 * @param seed             the root seed; every random choice of the run derives from it
 * @param bandwidthBitsPerSec the migration bandwidth limit, 0 for none (sim: the link's speed); else
 *                         in [{@link #MIN_BANDWIDTH_BITS_PER_SEC}, {@link #MAX_BANDWIDTH_BITS_PER_SEC}]
 * @param downtimeLimitNs  stop-and-copy starts when the rest fits this at the measured bandwidth
 * @param maxIterations    after this many passes, stop-and-copy is forced
 * @param timeCapNs        after this long, stop-and-copy is forced (0: no cap)
 * @param chain            migrations in a row, each destination the next source (1: one migration)
 * @param failAt           where the link fails on a migration's first attempt, or null for nowhere. A
 *                         time at or past {@code timeCapNs} (when there is a cap) is past the end and
 *                         refused; without a cap the end is not known beforehand, and a run whose
 *                         link was never due to fail before it ended shows one attempt per hop
 * @param poisonByte       the value the guest poisons free pages with (0: no poisoning)
 * @param mustTellHost     whether the guest tells the host before reusing deflated pages
 * @param balloonMessages  how the balloon driver sends its page ranges
 * @param hintStartCommandId the first free page hint command id (in [0x80000000, 0xFFFFFFFF])
 * @param costProfile      what work costs on the simulator's clock
 * @param postcopy         when the migration switches to postcopy ({@link Postcopy#OFF}: never; null is taken as that)
 */
public record Scenario(
        String backend,
        long guestMemBytes,
        WorkloadSpec workload,
        String policy,
        long seed,
        long bandwidthBitsPerSec,
        long downtimeLimitNs,
        int maxIterations,
        long timeCapNs,
        int chain,
        FailPoint failAt,
        int poisonByte,
        boolean mustTellHost,
        BalloonMessages balloonMessages,
        long hintStartCommandId,
        CostProfile costProfile,
        Postcopy postcopy) {

    public static final long MIN_COMMAND_ID = 0x8000_0000L;
    public static final long MAX_COMMAND_ID = 0xFFFF_FFFFL;
    /** The slowest bandwidth limit taken: 1 Mbit/s (an 8 GiB guest takes 19 hours at it). */
    public static final long MIN_BANDWIDTH_BITS_PER_SEC = 1_000_000L;
    /** The fastest bandwidth limit taken: 10 Tbit/s, beyond any link of today. */
    public static final long MAX_BANDWIDTH_BITS_PER_SEC = 10_000_000_000_000L;

    public Scenario {
        if (backend == null || !backend.matches("[a-z][a-z0-9-]*")) {
            throw new SettingException("backend", backend, "expected a backend's name, such as sim or kvm");
        }
        if (guestMemBytes < (1 << 20) || guestMemBytes % 4096 != 0) {
            throw new SettingException(
                    "mem", Units.formatBytes(guestMemBytes), "must be at least 1M and a multiple of 4K");
        }
        if (workload == null) throw new SettingException("workload", null, "missing");
        if (!backend.equals("sim")) {
            for (String key : WorkloadSpec.GUEST_KEYS) {
                if (workload.params().containsKey(key)
                        && !(backend.equals("kvm") && WorkloadSpec.KVM_GUEST_KEYS.contains(key))) {
                    throw new SettingException(
                            "workload",
                            workload.toString(),
                            key
                                    + (WorkloadSpec.KVM_GUEST_KEYS.contains(key)
                                            ? " runs on the simulated and KVM guests"
                                            : " is the simulated guest's")
                                    + "; the " + backend + " guest runs its own drivers");
                }
            }
        }
        long osHeld = workload.osBytes() + workload.osReservedBytes();
        if (osHeld > guestMemBytes) {
            throw new SettingException(
                    "workload",
                    workload.toString(),
                    "os=" + workload.param("os", "0") + " and os-reserved=" + workload.param("os-reserved", "0")
                            + " hold " + Units.formatBytes(osHeld) + ", more than the guest's "
                            + Units.formatBytes(guestMemBytes));
        }
        if (workload.minFreeBytes() > guestMemBytes) {
            throw new SettingException(
                    "workload",
                    workload.toString(),
                    "min-free=" + workload.param("min-free", "0") + ": more than the guest's "
                            + Units.formatBytes(guestMemBytes));
        }
        if (policy == null || policy.isBlank()) throw new SettingException("policy", policy, "missing");
        checkBandwidth(bandwidthBitsPerSec);
        if (downtimeLimitNs <= 0)
            throw new SettingException("downtime", Units.formatDuration(downtimeLimitNs), "must be > 0");
        if (maxIterations < 1)
            throw new SettingException("max-iterations", Integer.toString(maxIterations), "must be >= 1");
        if (timeCapNs < 0) throw new SettingException("time-cap", Units.formatDuration(timeCapNs), "must be >= 0");
        if (chain < 1 || chain > 64) throw new SettingException("chain", Integer.toString(chain), "must be in [1, 64]");
        if (poisonByte < 0 || poisonByte > 255)
            throw new SettingException("poison", Integer.toString(poisonByte), "must be a byte");
        if (balloonMessages == null) throw new SettingException("balloon-messages", null, "missing");
        if (hintStartCommandId < MIN_COMMAND_ID || hintStartCommandId > MAX_COMMAND_ID) {
            throw new SettingException(
                    "hint-start-id",
                    "0x" + Long.toHexString(hintStartCommandId),
                    "must be in [0x80000000, 0xffffffff]");
        }
        if (costProfile == null) throw new SettingException("profile", null, "missing");
        if (postcopy == null) postcopy = Postcopy.OFF;
        if (failAt != null && failAt.atNs() >= 0 && timeCapNs > 0 && failAt.atNs() >= timeCapNs) {
            throw new SettingException(
                    "fail-at",
                    failAt.toString(),
                    "past the end of the migration: --time-cap " + Units.formatDuration(timeCapNs)
                            + " forces stop-and-copy first; give a time before the cap");
        }
    }

    /** A pre-copy scenario (no postcopy). */
    public Scenario(
            String backend,
            long guestMemBytes,
            WorkloadSpec workload,
            String policy,
            long seed,
            long bandwidthBitsPerSec,
            long downtimeLimitNs,
            int maxIterations,
            long timeCapNs,
            int chain,
            FailPoint failAt,
            int poisonByte,
            boolean mustTellHost,
            BalloonMessages balloonMessages,
            long hintStartCommandId,
            CostProfile costProfile) {
        this(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                Postcopy.OFF);
    }

    /** Refuses a bandwidth limit other than 0 (unlimited) outside [1 Mbit/s, 10 Tbit/s]. */
    public static void checkBandwidth(long bitsPerSec) {
        if (bitsPerSec != 0 && (bitsPerSec < MIN_BANDWIDTH_BITS_PER_SEC || bitsPerSec > MAX_BANDWIDTH_BITS_PER_SEC)) {
            throw new SettingException(
                    "bandwidth",
                    Units.formatBandwidth(bitsPerSec),
                    "must be 0 (unlimited) or between 1Mbit and 10Tbit per second");
        }
    }

    /** The guest's RAM blocks: PC-like, with the hole below 4 GiB for guests over 3 GiB. */
    public dev.ballast.core.mem.RamLayout layout() {
        return dev.ballast.core.mem.RamLayout.pcLike(guestMemBytes);
    }

    /** What the guest's balloon device offers: both kinds of free page reports, poisoning and MUST_TELL_HOST as set. */
    public dev.ballast.core.engine.GuestFeatures features() {
        return new dev.ballast.core.engine.GuestFeatures(mustTellHost, true, true, poisonByte);
    }

    /**
     * Why the scenario's policy skips no ballooned page on this guest although it would on others
     * ({@code balloon} without MUST_TELL_HOST), or null; null too for a policy that cannot be made
     * here (the backend refuses or provides it).
     */
    public String balloonSkipOff() {
        try {
            return dev.ballast.core.policy.Policies.create(policy).balloonSkipOff(features());
        } catch (SettingException e) {
            return null;
        }
    }

    /** Pages a step of a KVM postcopy migration handles at most (a page request waits for the step under way). */
    public static final int KVM_POSTCOPY_PAGES_PER_STEP = 256;

    /**
     * The engine's settings for this scenario. A step handles at most 4096 pages; on the KVM backend in
     * postcopy 256 (1 MiB), as the destination's page requests are served between steps and a step there
     * takes wall time.
     */
    public dev.ballast.core.engine.EngineConfig engineConfig() {
        return new dev.ballast.core.engine.EngineConfig(
                        bandwidthBitsPerSec / 8,
                        downtimeLimitNs,
                        maxIterations,
                        timeCapNs,
                        hintStartCommandId,
                        postcopy.enabled() && backend.equals("kvm") ? KVM_POSTCOPY_PAGES_PER_STEP : 4096,
                        65_536,
                        costProfile.pageHeaderBytes())
                .withSyncBeforeStop(workload.syncBeforeStop())
                .withUncappedStop(workload.uncappedStop());
    }

    /** A simulated scenario with the seeds' settings: 10 Gbit/s, 2 s downtime, 30 iterations at most. */
    public static Scenario sim(long guestMemBytes, String workload, String policy, long seed) {
        return new Scenario(
                "sim",
                guestMemBytes,
                WorkloadSpec.parse(workload),
                policy,
                seed,
                10_000_000_000L,
                2_000_000_000L,
                30,
                0,
                1,
                null,
                0,
                true,
                BalloonMessages.PFN,
                MIN_COMMAND_ID,
                CostProfile.defaults());
    }

    public Scenario withPolicy(String p) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                p,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                postcopy);
    }

    public Scenario withSeed(long s) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                s,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                postcopy);
    }

    /** With the link failing at {@code f} ({@code 40%}, {@code 250ms}, {@code random}; see {@link FailPoint#parse}). */
    public Scenario withFailAt(String f) {
        return withFailAt(FailPoint.parse(f));
    }

    public Scenario withFailAt(FailPoint f) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                f,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                postcopy);
    }

    public Scenario withChain(int c) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                c,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                postcopy);
    }

    /** As {@link #withGuest(int, boolean, BalloonMessages, long)}, the messages as written ({@code pfn}, {@code bitmap}). */
    public Scenario withGuest(int poison, boolean tellHost, String messages, long startId) {
        return withGuest(poison, tellHost, BalloonMessages.parse(messages), startId);
    }

    public Scenario withGuest(int poison, boolean tellHost, BalloonMessages messages, long startId) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poison,
                tellHost,
                messages,
                startId,
                costProfile,
                postcopy);
    }

    public Scenario withLimits(long bandwidth, long downtimeNs, int iterations, long capNs) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidth,
                downtimeNs,
                iterations,
                capNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                postcopy);
    }

    /** With the switch to postcopy as {@code p} says ({@link Postcopy#parse}: {@code 3}, {@code auto}, {@code off}). */
    public Scenario withPostcopy(Postcopy p) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                costProfile,
                p);
    }

    public Scenario withCostProfile(CostProfile c) {
        return new Scenario(
                backend,
                guestMemBytes,
                workload,
                policy,
                seed,
                bandwidthBitsPerSec,
                downtimeLimitNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                mustTellHost,
                balloonMessages,
                hintStartCommandId,
                c,
                postcopy);
    }
}
