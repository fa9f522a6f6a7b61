package dev.ballast.core.run;

/**
 * Everything that defines one migration run. Validated once here; nothing downstream re-checks.
 *
 * @param backend          "sim" or "kvm"
 * @param guestMemBytes    guest RAM; over 3 GiB it is laid out PC-like with a hole below 4 GiB
 * @param workload         what the guest does
 * @param policy           the migration policy's name
 * @param seed             the root seed; every random choice of the run derives from it
 * @param bandwidthBitsPerSec the migration bandwidth limit, 0 for none (sim: the link's speed)
 * @param downtimeLimitNs  stop-and-copy starts when the rest fits this at the measured bandwidth
 * @param maxIterations    after this many passes, stop-and-copy is forced
 * @param timeCapNs        after this long, stop-and-copy is forced (0: no cap)
 * @param chain            migrations in a row, each destination the next source (1: one migration)
 * @param failAt           where the link fails, or null: "40%" of guest pages sent, "250ms", "random"
 * @param poisonByte       the value the guest poisons free pages with (0: no poisoning)
 * @param mustTellHost     whether the guest tells the host before reusing deflated pages
 * @param balloonMessages  "pfn" (PFN arrays) or "bitmap" (bitmaps) for balloon requests
 * @param hintStartCommandId the first free page hint command id (in [0x80000000, 0xFFFFFFFF])
 * @param costProfile      what work costs on the simulator's clock
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
        String failAt,
        int poisonByte,
        boolean mustTellHost,
        String balloonMessages,
        long hintStartCommandId,
        CostProfile costProfile) {

    public static final long MIN_COMMAND_ID = 0x8000_0000L;
    public static final long MAX_COMMAND_ID = 0xFFFF_FFFFL;

    public Scenario {
        if (!backend.equals("sim") && !backend.equals("kvm")) {
            throw new IllegalArgumentException("backend=" + backend + ": must be sim or kvm");
        }
        if (guestMemBytes < (1 << 20) || guestMemBytes % 4096 != 0) {
            throw new IllegalArgumentException("mem=" + guestMemBytes + ": must be at least 1M and a multiple of 4K");
        }
        if (bandwidthBitsPerSec < 0) throw new IllegalArgumentException("bandwidth=" + bandwidthBitsPerSec + ": must be >= 0");
        if (downtimeLimitNs <= 0) throw new IllegalArgumentException("downtime=" + downtimeLimitNs + "ns: must be > 0");
        if (maxIterations < 1) throw new IllegalArgumentException("max-iterations=" + maxIterations + ": must be >= 1");
        if (timeCapNs < 0) throw new IllegalArgumentException("time-cap=" + timeCapNs + "ns: must be >= 0");
        if (chain < 1 || chain > 64) throw new IllegalArgumentException("chain=" + chain + ": must be in [1, 64]");
        if (poisonByte < 0 || poisonByte > 255) throw new IllegalArgumentException("poison=" + poisonByte + ": must be a byte");
        if (!balloonMessages.equals("pfn") && !balloonMessages.equals("bitmap")) {
            throw new IllegalArgumentException("balloon-messages=" + balloonMessages + ": must be pfn or bitmap");
        }
        if (hintStartCommandId < MIN_COMMAND_ID || hintStartCommandId > MAX_COMMAND_ID) {
            throw new IllegalArgumentException("hint-start-id=0x" + Long.toHexString(hintStartCommandId)
                    + ": must be in [0x80000000, 0xffffffff]");
        }
        if (failAt != null) FailPoint.parse(failAt);
    }

    /** The guest's RAM blocks: PC-like, with the hole below 4 GiB for guests over 3 GiB. */
    public dev.ballast.core.mem.RamLayout layout() {
        return dev.ballast.core.mem.RamLayout.pcLike(guestMemBytes);
    }

    /** What the guest's balloon device offers: both kinds of free page reports, poisoning and MUST_TELL_HOST as set. */
    public dev.ballast.core.engine.GuestFeatures features() {
        return new dev.ballast.core.engine.GuestFeatures(mustTellHost, true, true, poisonByte);
    }

    /** The engine's settings for this scenario. */
    public dev.ballast.core.engine.EngineConfig engineConfig() {
        return new dev.ballast.core.engine.EngineConfig(bandwidthBitsPerSec / 8, downtimeLimitNs, maxIterations, timeCapNs,
                hintStartCommandId, 4096, 65_536, costProfile.pageHeaderBytes());
    }

    /** A simulated scenario with the seeds' settings: 10 Gbit/s, 2 s downtime, 30 iterations at most. */
    public static Scenario sim(long guestMemBytes, String workload, String policy, long seed) {
        return new Scenario("sim", guestMemBytes, WorkloadSpec.parse(workload), policy, seed,
                10_000_000_000L, 2_000_000_000L, 30, 0, 1, null, 0, true, "pfn", MIN_COMMAND_ID,
                CostProfile.defaults());
    }

    public Scenario withPolicy(String p) {
        return new Scenario(backend, guestMemBytes, workload, p, seed, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, chain, failAt, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, costProfile);
    }

    public Scenario withSeed(long s) {
        return new Scenario(backend, guestMemBytes, workload, policy, s, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, chain, failAt, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, costProfile);
    }

    public Scenario withFailAt(String f) {
        return new Scenario(backend, guestMemBytes, workload, policy, seed, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, chain, f, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, costProfile);
    }

    public Scenario withChain(int c) {
        return new Scenario(backend, guestMemBytes, workload, policy, seed, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, c, failAt, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, costProfile);
    }

    public Scenario withGuest(int poison, boolean tellHost, String messages, long startId) {
        return new Scenario(backend, guestMemBytes, workload, policy, seed, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, chain, failAt, poison, tellHost, messages, startId, costProfile);
    }

    public Scenario withLimits(long bandwidth, long downtimeNs, int iterations, long capNs) {
        return new Scenario(backend, guestMemBytes, workload, policy, seed, bandwidth, downtimeNs,
                iterations, capNs, chain, failAt, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, costProfile);
    }

    public Scenario withCostProfile(CostProfile c) {
        return new Scenario(backend, guestMemBytes, workload, policy, seed, bandwidthBitsPerSec, downtimeLimitNs,
                maxIterations, timeCapNs, chain, failAt, poisonByte, mustTellHost, balloonMessages, hintStartCommandId, c);
    }
}
