package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.run.Scenario;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HtmlReportTest {
    private static final long M = 1L << 20;

    @Test
    void shouldWriteOneFileThatLoadsNothingFromOutside(@TempDir Path dir) throws Exception {
        Recorded run = Recorded.run(Scenario.sim(512 * M, "compile", "hint", 1));
        Path out = dir.resolve("sub/report.html");
        HtmlReport.write(List.of(run.input()), out);
        String html = Files.readString(out);
        assertThat(html).startsWith("<!DOCTYPE html>");
        // the page's own markup (scripts' bodies left out) fetches nothing: no src or href, no CSS import or url()
        assertThat(Pattern.compile("<script[^>]*>").matcher(html).results().map(m -> m.group()))
                .containsExactly("<script type=\"application/json\" id=\"ballast-data\">", "<script>", "<script>");
        String markup =
                Pattern.compile("(?s)(<script[^>]*>).*?</script>").matcher(html).replaceAll("$1</script>");
        assertThat(markup)
                .doesNotContainPattern("(?i)\\s(src|href)=")
                .doesNotContain("@import")
                .doesNotContain("url(");
        // and the page's policy forbids it anyway
        assertThat(html).contains("Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'");
        assertThat(html)
                .contains("Apache ECharts 6.0.0")
                .contains("echarts.init")
                .contains("\"label\":\"hint\"");
        try (var files = Files.list(out.getParent())) {
            assertThat(files).containsExactly(out);
        }
    }

    @Test
    void shouldKeepALabelFromEndingTheScript() {
        Recorded run = Recorded.run(Scenario.sim(64 * M, "idle", "legacy", 1));
        String html =
                HtmlReport.render(HtmlReport.read(List.of(run.input("</script><script>alert(1)</script> & more"))));
        assertThat(html).doesNotContain("</script><script>alert(1)").contains("\\u003c/script\\u003e");
        assertThat(html).contains("<title>Ballast report: &lt;/script&gt;");
    }

    @Test
    void shouldBeTheSameForTheSameRuns() {
        Recorded a = Recorded.run(Scenario.sim(128 * M, "compile", "hint", 2));
        Recorded b = Recorded.run(Scenario.sim(128 * M, "compile", "legacy", 2));
        List<RunInput> runs = List.of(a.input(), b.input());
        assertThat(HtmlReport.render(HtmlReport.read(runs))).isEqualTo(HtmlReport.render(HtmlReport.read(runs)));
    }

    @Test
    void shouldNumberRunsThatShareALabel() {
        Recorded a = Recorded.run(Scenario.sim(64 * M, "idle", "hint", 1));
        Recorded b = Recorded.run(Scenario.sim(64 * M, "idle", "hint", 2));
        assertThat(HtmlReport.read(List.of(a.input(), b.input())))
                .extracting(ReportData::label)
                .containsExactly("hint #1", "hint #2");
        assertThat(HtmlReport.title(HtmlReport.read(List.of(a.input(), b.input()))))
                .isEqualTo("Ballast report: 2 runs, idle, 64.0 MiB");
    }

    @Test
    void shouldSayWhichRunsAreIdentical() {
        // #13: two identical runs painted over each other in a compare report
        Recorded a = Recorded.run(Scenario.sim(64 * M, "compile", "hint", 1));
        Recorded same = Recorded.run(Scenario.sim(64 * M, "compile", "hint", 1));
        Recorded other = Recorded.run(Scenario.sim(64 * M, "compile", "hint", 2));
        List<ReportData> runs = HtmlReport.read(List.of(a.input(), same.input(), other.input()));
        assertThat(runs).extracting(ReportData::label).containsExactly("hint #1", "hint #2", "hint #3");
        assertThat(runs).extracting(ReportData::identicalTo).containsExactly(null, "hint #1", null);
    }

    @Test
    void shouldWriteNothingWhenARunCannotBeRead(@TempDir Path dir) {
        Recorded good = Recorded.run(Scenario.sim(64 * M, "idle", "hint", 1));
        RunInput broken = new RunInput("journal-2", good.manifest, () -> into -> {
            throw new IllegalStateException("damaged at byte 812");
        });
        Path out = dir.resolve("report.html");
        assertThatThrownBy(() -> HtmlReport.write(List.of(good.input(), broken), out))
                .isInstanceOf(ReportException.class)
                .hasMessage("journal-2: cannot read the event after 0: damaged at byte 812");
        assertThat(out).doesNotExist();
        assertThatThrownBy(() -> HtmlReport.write(List.of(), out))
                .isInstanceOf(ReportException.class)
                .hasMessage("nothing to report: no runs given");
    }
}
