package dev.ballast.properties;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.mem.RamLayout;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Pins the product bugs {@link KnownIssues} tolerates to the shrunk counterexamples the suite
 * found them with. When one is fixed, its test here fails: delete the test and the tolerance.
 */
class KnownIssuesTest {
    private static SimCase.Guest guest(int poison, int hintRate) {
        return new SimCase.Guest(poison, true, "pfn", 0x8000_0000L, 10, hintRate, false);
    }

    private static final SimCase.Layout SEVENTEEN_MIB = new SimCase.Layout(List.of(new RamLayout.Spec("ram", 0, 4352)));
    private static final SimCase.Limits SEEDS_LIMITS = new SimCase.Limits(10_000_000_000L, 2_000_000_000L, 30, 0);

    private static void assertExplainedBy(SimCase c, String issue) {
        Assumptions.assumeFalse(KnownIssues.FAIL, "-Dballast.knownIssues=fail");
        SimRunner.Outcome o = SimRunner.run(c, Mutant.NONE, EventSink.NONE);
        assertThat(o.violations()).as("%s still shows the known issue", c).isNotEmpty();
        assertThat(o.violations())
                .allSatisfy(v -> assertThat(o.known().explain(v)).as(v).startsWith(issue));
    }

    /**
     * Once known issue 1, now fixed: the second hop of a chain started its hint requests at
     * 0x80000000 again and took the first hop's late reports. Its shrunk case stays as a test.
     */
    @Test
    void commandIdsGoOnAcrossMigrations() {
        SimCase c = new SimCase(
                SEVENTEEN_MIB,
                "idle,used=1%,rate=0MiB/s",
                "hint",
                guest(0, 2000),
                SEEDS_LIMITS,
                new SimCase.Faults(null, -1, 2),
                0);
        assertThat(SimRunner.run(c, Mutant.NONE, EventSink.NONE).violations()).isEmpty();
    }

    /** The known issue: a page the poisoning guest freed (and so dirtied) goes as a poison fill, then again with its data. */
    @Test
    void aPoisonFillLeavesAnOlderDirtyBitBehind() {
        assertExplainedBy(
                new SimCase(
                        SEVENTEEN_MIB,
                        "compile,used=1%,ws=5%,churn=184MiB/s,rate=10MiB/s",
                        "bitmap",
                        guest(1, 1_000_000),
                        new SimCase.Limits(2_137_000_000L, 2_000_000_000L, 30, 0),
                        SimCase.Faults.NONE,
                        5),
                "known issue");
    }
}
