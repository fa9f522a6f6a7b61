package dev.ballast.properties;

import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import java.util.Locale;

/**
 * A migration of a real KVM guest, small (16 to 64 MiB, the PC-like layout), drawn like a
 * {@link SimCase}: workload with its parameters, policy, poisoning, MUST_TELL_HOST, balloon
 * message kind, hint start id, a link failure, a chain, the seed; and postcopy ({@code null}: none;
 * else {@code --postcopy-after}'s value, with a 1 ms downtime limit on a 1 Gbit/s link, which pre-copy
 * of a busy guest does not meet, so the migration switches over).
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
        String postcopy) {

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
        this(memMiB, workload, policy, poison, tellHost, messages, hintStartId, failAt, chain, seed, null);
    }

    /** This case, switching to postcopy after {@code after} ("1", "2", "auto"). */
    public KvmCase withPostcopy(String after) {
        return new KvmCase(memMiB, workload, policy, poison, tellHost, messages, hintStartId, failAt, chain, seed, after);
    }

    /**
     * The limits of a postcopy case, 1 ms of downtime on a 1 Gbit/s link (about 30 pages): pre-copy
     * of a guest that writes at all cannot meet them, so the migration switches over.
     */
    static final long POSTCOPY_DOWNTIME_NS = 1_000_000L;

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
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse(postcopy));
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
                postcopy == null ? "" : ", postcopy-after=" + postcopy);
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
        if (postcopy != null) sb.append(" --postcopy-after ").append(postcopy).append(" --downtime 1ms --bandwidth 1Gbit");
        return sb.toString();
    }
}
