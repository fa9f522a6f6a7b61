package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.RunReport;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReportTextTest {
    @Test
    void shouldAlignTheFirstColumnLeftAndTheOthersRight() {
        String t = ReportText.table(
                List.of("policy", "ms"), List.of(List.of("legacy", "1769.0"), List.of("hint+balloon", "2.5")));

        assertThat(t).isEqualTo("""
                policy            ms
                legacy        1769.0
                hint+balloon     2.5
                """);
    }

    @Test
    void shouldSummarizeARunWithItsVerdict() {
        RunReport r = new RunReport(
                "sim",
                "idle",
                "hint",
                8L << 30,
                1,
                "virtual",
                "COMPLETED",
                259.04,
                12.3,
                11.9,
                2000,
                false,
                0.5,
                4,
                345L << 20,
                null,
                new RunReport.Pages(1000, 20, 0, 2_000_000, 3),
                new RunReport.Hints(4, 100, 2_000_000, 4, 0),
                new RunReport.Balloon(0, 0, 0, false, null),
                new RunReport.Verify(2_097_152, 0, true, null),
                new RunReport.Journal(null, 0, null),
                List.of(),
                List.of(),
                40);

        String s = ReportText.summary(r);

        assertThat(s)
                .contains("  total        259.0 ms (virtual time)")
                .contains("  transferred  345.0 MiB (361,758,720 bytes)")
                .contains("skipped free 2,000,000")
                .contains("  hints        requests 4, ranges 100, pages 2,000,000 (applied 4, rejected 0)")
                .contains("  verify       ok (2,097,152 pages checked, 0 mismatched)")
                .doesNotContain("balloon  ")
                .doesNotContain("journal");
    }

    /** A comparison with a run that switched to postcopy gets its postcopy columns; a run that did not shows "-". */
    @Test
    void shouldShowPostcopyColumnsWhenARunSwitchedOver() {
        RunReport.Postcopy pc =
                new RunReport.Postcopy(16.1, 5L << 30, 3L << 20, 900, 0, 800, 0, 0, 1234, 0, 13.6, 14.8, 20.0, 339);
        String t = ReportText.compareTable(List.of(report("legacy", null), report("balloon", pc)));
        List<String> lines = t.lines().toList();
        assertThat(lines.get(0)).contains("verify  after switch  faults  fault p99 ms  time %legacy");
        assertThat(lines.get(1)).matches(".*ok\\s+-\\s+-\\s+-\\s+100\\.0%.*");
        assertThat(lines.get(2)).matches(".*ok\\s+3\\.0 MiB\\s+1,234\\s+14\\.8\\s+.*");
        // without a postcopy run, the table is as before
        assertThat(ReportText.compareTable(List.of(report("legacy", null)))).doesNotContain("faults");
    }

    private static RunReport report(String policy, RunReport.Postcopy postcopy) {
        return new RunReport(
                "sim",
                "idle",
                policy,
                1L << 30,
                1,
                "virtual",
                "COMPLETED",
                100,
                10,
                10,
                300,
                false,
                0,
                2,
                100L << 20,
                null,
                new RunReport.Pages(1000, 20, 0, 0, 3),
                null,
                null,
                new RunReport.Verify(262_144, 0, true, null),
                null,
                List.of(),
                List.of(),
                40,
                null,
                postcopy);
    }

    @Test
    void shouldGivePercentagesOfTheBaseline() {
        assertThat(ReportText.percent(259, 1769)).isEqualTo("14.6%");
        assertThat(ReportText.percent(0, 0)).isEqualTo("100.0%");
        assertThat(ReportText.percent(5, 0)).isEqualTo("-");
    }
}
