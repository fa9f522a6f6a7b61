package dev.ballast.properties;

import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import java.util.Locale;

/**
 * A migration of a real KVM guest, small (16 to 64 MiB, the PC-like layout), drawn like a
 * {@link SimCase}: workload with its parameters (free page reporting and the host's discards among
 * them), policy, poisoning, MUST_TELL_HOST, balloon message kind, hint start id, a link failure, a
 * chain, the seed, how long after a free the guest reports free pages ({@code reportDelayMs};
 * -1: Linux's 2 s, which a migration of this size seldom meets); and postcopy ({@code null}: none;
 * else {@code --postcopy-after}'s value, with a 100 us downtime limit on a 1 Gbit/s link, which pre-copy
 * of a busy guest seldom meets, so the migration switches over), and whether free page hints run with it
 * ({@code --postcopy-hints}).
 */
public record KvmCase(
        int memMiB,
        String workload,
        String policy,
        int poison,
        boolean tellHost,
        String messages,
        long hintStartId,
        String failAt,
        int chain,
        long seed,
        int reportDelayMs,
        String postcopy,
        boolean postcopyHints) {

    public KvmCase(
            int memMiB,
            String workload,
            String policy,
            int poison,
            boolean tellHost,
            String messages,
            long hintStartId,
            String failAt,
            int chain,
            long seed,
            int reportDelayMs,
            String postcopy) {
        this(
                memMiB,
                workload,
                policy,
                poison,
                tellHost,
                messages,
                hintStartId,
                failAt,
                chain,
                seed,
                reportDelayMs,
                postcopy,
                false);
    }

    public KvmCase(
            int memMiB,
            String workload,
            String policy,
            int poison,
            boolean tellHost,
            String messages,
            long hintStartId,
            String failAt,
            int chain,
            long seed) {
        this(memMiB, workload, policy, poison, tellHost, messages, hintStartId, failAt, chain, seed, -1, null);
    }

    /** The run's test hooks: free page reporting's delay, when this case shortens it. */
    public dev.ballast.kvm.backend.KvmRun.Hooks hooks() {
        return reportDelayMs < 0
                ? dev.ballast.kvm.backend.KvmRun.Hooks.NONE
                : dev.ballast.kvm.backend.KvmRun.Hooks.NONE.withReportDelayUs(reportDelayMs * 1000L);
    }

    /** This case, switching to postcopy after {@code after} ("1", "2", "auto"). */
    public KvmCase withPostcopy(String after) {
        return new KvmCase(
                memMiB,
                workload,
                policy,
                poison,
                tellHost,
                messages,
                hintStartId,
                failAt,
                chain,
                seed,
                reportDelayMs,
                after,
                postcopyHints);
    }

    /** This case, with free page hinting allowed with postcopy ({@code --postcopy-hints}, which QEMU refuses). */
    public KvmCase withPostcopyHints() {
        return new KvmCase(
                memMiB,
                workload,
                policy,
                poison,
                tellHost,
                messages,
                hintStartId,
                failAt,
                chain,
                seed,
                reportDelayMs,
                postcopy,
                true);
    }

    /**
     * The limits of a postcopy case: 100 us of downtime on a 1 Gbit/s link (3 pages). Pre-copy of a guest that keeps
     * writing seldom meets them, so the migration switches over; it meets them when a short pass sees no write (the
     * guest writes in bursts). Measured: with 1 ms on 1 Gbit/s (30 pages) an idle 16 MiB guest writing 8 MiB/s met the
     * limit after pass 1 in 10 runs of 12; 1 ms on 200 Mbit/s (6 pages, KvmPostcopyTest's) switched 68 to 80 % of the
     * drawn cases but took 1.3 to 1.7 s a migration (the bulk pass at 25 MB/s); this, 72 to 87 % at 0.2 to 0.4 s.
     */
    static final long POSTCOPY_DOWNTIME_NS = 100_000L;

    static final long POSTCOPY_BANDWIDTH_BITS = 1_000_000_000L;

    public Scenario scenario() {
        Scenario s = new Scenario(
                "kvm",
                (long) memMiB << 20,
                WorkloadSpec.parse(workload),
                policy,
                seed,
                0,
                300_000_000L,
                30,
                0,
                chain,
                failAt == null ? null : FailPoint.parse(failAt),
                poison,
                tellHost,
                BalloonMessages.parse(messages),
                hintStartId,
                CostProfile.defaults());
        if (postcopy == null) return s;
        return s.withLimits(POSTCOPY_BANDWIDTH_BITS, POSTCOPY_DOWNTIME_NS, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse(postcopy).withHints(postcopyHints));
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "KvmCase{mem=%dM, workload=%s, policy=%s, poison=%s, %s, %s, start-id=0x%x, fail-at=%s, chain=%d, seed=%d%s}",
                memMiB,
                workload,
                policy,
                poison == 0 ? "off" : "0x" + Integer.toHexString(poison),
                tellHost ? "tell-host" : "no-tell-host",
                messages,
                hintStartId,
                failAt,
                chain,
                seed,
                (reportDelayMs < 0 ? "" : ", report-delay=" + reportDelayMs + "ms")
                        + (postcopy == null ? "" : ", postcopy-after=" + postcopy)
                        + (postcopyHints ? ", postcopy-hints" : ""));
    }

    /** The {@code ballast run} command that runs the same migration. */
    public String command() {
        StringBuilder sb = new StringBuilder("./ballast run --backend kvm --mem " + memMiB + "M --workload " + workload
                + " --policy " + policy + " --seed " + seed);
        if (poison != 0) sb.append(" --poison 0x").append(Integer.toHexString(poison));
        if (!tellHost) sb.append(" --no-tell-host");
        if (!messages.equals("pfn")) sb.append(" --balloon-messages ").append(messages);
        if (hintStartId != Scenario.MIN_COMMAND_ID)
            sb.append(" --hint-start-id 0x").append(Long.toHexString(hintStartId));
        if (failAt != null) sb.append(" --fail-at ").append(failAt);
        if (chain > 1) sb.append(" --chain ").append(chain);
        if (postcopy != null)
            sb.append(" --postcopy-after ").append(postcopy).append(" --downtime 100us --bandwidth 1Gbit");
        if (postcopyHints) sb.append(" --postcopy-hints");
        if (reportDelayMs >= 0)
            sb.append("   # free page reporting after ")
                    .append(reportDelayMs)
                    .append(" ms, not 2 s: KvmRun.Hooks.withReportDelayUs, tests only");
        return sb.toString();
    }
}
