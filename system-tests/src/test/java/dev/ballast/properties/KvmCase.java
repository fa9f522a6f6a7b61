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
 * chain, the seed, and how long after a free the guest reports free pages ({@code reportDelayMs};
 * -1: Linux's 2 s, which a migration of this size seldom meets).
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
        int reportDelayMs) {

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
        this(memMiB, workload, policy, poison, tellHost, messages, hintStartId, failAt, chain, seed, -1);
    }

    /** The run's test hooks: free page reporting's delay, when this case shortens it. */
    public dev.ballast.kvm.backend.KvmRun.Hooks hooks() {
        return reportDelayMs < 0
                ? dev.ballast.kvm.backend.KvmRun.Hooks.NONE
                : dev.ballast.kvm.backend.KvmRun.Hooks.NONE.withReportDelayUs(reportDelayMs * 1000L);
    }

    public Scenario scenario() {
        return new Scenario(
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
                reportDelayMs < 0 ? "" : ", report-delay=" + reportDelayMs + "ms");
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
        if (reportDelayMs >= 0)
            sb.append("   # free page reporting after ")
                    .append(reportDelayMs)
                    .append(" ms, not 2 s: KvmRun.Hooks.withReportDelayUs, tests only");
        return sb.toString();
    }
}
