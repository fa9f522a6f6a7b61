package dev.ballast.properties;

import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import java.util.List;
import java.util.Locale;

/**
 * One simulated migration as the generators draw it: everything its run depends on, so the same
 * case always gives the same run, event for event. Its {@link #toString()} is the one line a
 * failure prints; jqwik shrinks it component by component.
 *
 * @param layout   the guest's RAM blocks
 * @param workload a workload spec with its parameters ({@code compile,ws=20%,churn=100MiB/s})
 * @param policy   a built-in policy
 * @param guest    the guest's devices and drivers
 * @param limits   the migration's settings
 * @param faults   link failures, a cancel, a chain
 * @param seed     the root seed of the run (every random choice of the simulator derives from it)
 * @param postcopy when the migration switches to postcopy (off: never), and whether hints may run with it
 */
public record SimCase(
        Layout layout,
        String workload,
        String policy,
        Guest guest,
        Limits limits,
        Faults faults,
        long seed,
        Postcopy postcopy) {

    /** A pre-copy case. */
    public SimCase(
            Layout layout, String workload, String policy, Guest guest, Limits limits, Faults faults, long seed) {
        this(layout, workload, policy, guest, limits, faults, seed, Postcopy.OFF);
    }

    public SimCase {
        if (postcopy == null) postcopy = Postcopy.OFF;
    }

    /** RAM blocks in the host's order (the order a host lists them in, not guest-physical order). */
    public record Layout(List<RamLayout.Spec> blocks) {
        public RamLayout ramLayout() {
            return RamLayout.of(blocks);
        }

        public long pages() {
            return blocks.stream().mapToLong(RamLayout.Spec::pages).sum();
        }

        /** Whether some block ends where another begins in guest-physical memory. */
        public boolean hasAdjacentBlocks() {
            for (RamLayout.Spec a : blocks)
                for (RamLayout.Spec b : blocks) if (a != b && a.firstPfn() + a.pages() == b.firstPfn()) return true;
            return false;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("[");
            for (RamLayout.Spec s : blocks) {
                if (sb.length() > 1) sb.append(", ");
                sb.append(s.name())
                        .append("@0x")
                        .append(Long.toHexString(s.firstPfn()))
                        .append('+')
                        .append(s.pages())
                        .append('p');
            }
            return sb.append("] ").append(pages() / 256).append(" MiB").toString();
        }
    }

    /**
     * The guest's devices and drivers.
     *
     * @param poison        the byte free pages are poisoned with (0: no poisoning)
     * @param tellHost      MUST_TELL_HOST: the guest tells the host before it reuses a deflated page
     * @param messages      balloon messages as PFN arrays ({@code pfn}) or bitmaps ({@code bitmap})
     * @param hintStartId   the first free page hint command id
     * @param hintOrder     the hint driver reports free blocks of 2^order pages
     * @param hintBlocksPerSec how fast the hint driver reports (slow drivers still report when the log is synced)
     * @param boundaryHints the hint driver also reports free ranges that cross from a block into one adjacent to it
     */
    public record Guest(
            int poison,
            boolean tellHost,
            String messages,
            long hintStartId,
            int hintOrder,
            int hintBlocksPerSec,
            boolean boundaryHints) {
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "poison=%s %s %s start-id=0x%x hint-order=%d hint-rate=%d/s%s",
                    poison == 0 ? "off" : "0x" + Integer.toHexString(poison),
                    tellHost ? "tell-host" : "no-tell-host",
                    messages,
                    hintStartId,
                    hintOrder,
                    hintBlocksPerSec,
                    boundaryHints ? " boundary-hints" : "");
        }
    }

    /** The migration's settings: link bandwidth (bits/s), downtime limit, iteration cap, time cap (0: none). */
    public record Limits(long bandwidthBits, long downtimeNs, int maxIterations, long timeCapNs) {
        @Override
        public String toString() {
            return String.format(
                    Locale.ROOT,
                    "bandwidth=%dMbit downtime=%.3gms max-iterations=%d time-cap=%s",
                    bandwidthBits / 1_000_000,
                    downtimeNs / 1e6,
                    maxIterations,
                    timeCapNs == 0 ? "none" : timeCapNs / 1_000_000 + "ms");
        }
    }

    /**
     * What goes wrong, and how far the guest travels.
     *
     * @param failAt   where the link fails on each migration's first attempt ({@code 40%}, {@code 30ms}, {@code random}), or null
     * @param cancelAt the first migration is cancelled once this many guest pages (a multiple of its size) were read, or -1
     * @param chain    migrations in a row, each destination the next source
     */
    public record Faults(String failAt, double cancelAt, int chain) {
        public static final Faults NONE = new Faults(null, -1, 1);

        public boolean any() {
            return failAt != null || cancelAt >= 0 || chain > 1;
        }

        @Override
        public String toString() {
            if (!any()) return "faults=none";
            StringBuilder sb = new StringBuilder();
            if (failAt != null) sb.append("fail-at=").append(failAt).append(' ');
            if (cancelAt >= 0) sb.append(String.format(Locale.ROOT, "cancel-at=%.2fx ", cancelAt));
            if (chain > 1) sb.append("chain=").append(chain).append(' ');
            return sb.toString().trim();
        }
    }

    /** The scenario the simulator runs (its memory is the layout's; the layout itself goes to {@code SimRun} beside it). */
    public Scenario scenario() {
        return new Scenario(
                "sim",
                layout.pages() * RamLayout.PAGE_SIZE,
                WorkloadSpec.parse(workload),
                policy,
                seed,
                limits.bandwidthBits(),
                limits.downtimeNs(),
                limits.maxIterations(),
                limits.timeCapNs(),
                faults.chain(),
                faults.failAt() == null ? null : FailPoint.parse(faults.failAt()),
                guest.poison(),
                guest.tellHost(),
                BalloonMessages.parse(guest.messages()),
                guest.hintStartId(),
                CostProfile.defaults(),
                postcopy);
    }

    public SimCase withPolicy(String p) {
        return new SimCase(layout, workload, p, guest, limits, faults, seed, postcopy);
    }

    public SimCase withSeed(long s) {
        return new SimCase(layout, workload, policy, guest, limits, faults, s, postcopy);
    }

    public SimCase withPostcopy(Postcopy p) {
        return new SimCase(layout, workload, policy, guest, limits, faults, seed, p);
    }

    /** A short measure of the case's size, for the kill table: guest MiB, blocks, and what makes it harder. */
    public String size() {
        return String.format(
                Locale.ROOT,
                "%d MiB/%d block%s",
                layout.pages() / 256,
                layout.blocks().size(),
                layout.blocks().size() == 1 ? "" : "s");
    }

    @Override
    public String toString() {
        return "SimCase{layout=" + layout + ", workload=" + workload + ", policy=" + policy + ", guest=(" + guest
                + "), limits=(" + limits + "), " + faults + ", seed=" + seed
                + (postcopy.enabled() ? ", postcopy-after=" + postcopy : "") + "}";
    }
}
