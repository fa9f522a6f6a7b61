package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ballast report and compare --report as a user runs them. */
class ReportCommandTest {
    @TempDir
    Path config;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend");
        cli = new Cli(config, backends);
    }

    @Test
    void shouldDrawARunFromItsJournal() throws IOException {
        Path j = config.resolve("j");
        assertThat(cli.run(
                                "run",
                                "--mem",
                                "128M",
                                "--workload",
                                "memhog",
                                "--policy",
                                "hint",
                                "--journal",
                                j.toString())
                        .exitCode())
                .isZero();
        Path html = config.resolve("out/one.html");
        Cli.Result r = cli.run("report", j.toString(), "-o", html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        String page = Files.readString(html);
        assertThat(page)
                .startsWith("<!DOCTYPE html>")
                .contains("echarts")
                .contains("memhog")
                .doesNotContain("<script src=");
    }

    @Test
    void shouldGiveEachHopTheFiguresOfRunJson() throws IOException {
        // #13: for a --fail-at 40% --chain 3 run the CLI said 9 iterations, the report 2 passes and "6 migrations"
        Path j = config.resolve("chain");
        Path json = config.resolve("chain.json");
        Cli.Result run = cli.run(
                "run",
                "--mem",
                "256M",
                "--workload",
                "memhog",
                "--fail-at",
                "40%",
                "--chain",
                "3",
                "--journal",
                j.toString(),
                "--json",
                json.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        Path html = config.resolve("chain.html");
        assertThat(cli.run("report", j.toString(), "-o", html.toString()).exitCode())
                .isZero();

        ObjectMapper mapper = new ObjectMapper();
        JsonNode cliRun = mapper.readTree(json.toFile());
        String page = Files.readString(html);
        String open = "<script type=\"application/json\" id=\"ballast-data\">";
        int from = page.indexOf(open) + open.length();
        JsonNode report = mapper.readTree(page.substring(from, page.indexOf("</script>", from)))
                .get("runs")
                .get(0);

        JsonNode totals = report.get("totals");
        assertThat(totals.get("iterations").asInt())
                .isEqualTo(cliRun.get("iterations").asInt());
        assertThat(totals.get("downtimeMs").asDouble())
                .isCloseTo(cliRun.get("downtimeMs").asDouble(), within(0.01));
        assertThat(totals.get("timeMs").asDouble())
                .isCloseTo(cliRun.get("totalTimeMs").asDouble(), within(0.01));
        assertThat(totals.get("transferredBytes").asLong())
                .isEqualTo(cliRun.get("transferredBytes").asLong());
        assertThat(totals.get("attempts").asInt())
                .isEqualTo(cliRun.get("attempts").size());
        JsonNode hops = report.get("hops");
        assertThat(hops.size()).isEqualTo(cliRun.get("hops").size()).isEqualTo(3);
        for (int i = 0; i < hops.size(); i++) {
            JsonNode h = hops.get(i), w = cliRun.get("hops").get(i);
            assertThat(h.get("outcome").asText().toLowerCase(java.util.Locale.ROOT))
                    .isEqualTo(w.get("outcome").asText());
            assertThat(h.get("timeMs").asDouble())
                    .isCloseTo(w.get("totalTimeMs").asDouble(), within(0.01));
            assertThat(h.get("downtimeMs").asDouble())
                    .isCloseTo(w.get("downtimeMs").asDouble(), within(0.01));
            assertThat(h.get("iterations").asInt())
                    .isEqualTo(w.get("iterations").asInt());
            assertThat(h.get("transferredBytes").asLong())
                    .isEqualTo(w.get("transferredBytes").asLong());
            assertThat(h.get("attempts").size()).isEqualTo(w.get("attempts").size());
            for (int k = 0; k < h.get("attempts").size(); k++) {
                JsonNode a = h.get("attempts").get(k), wa = w.get("attempts").get(k);
                assertThat(a.get("outcome").asText().toLowerCase(java.util.Locale.ROOT))
                        .isEqualTo(wa.get("outcome").asText());
                assertThat(a.get("timeMs").asDouble())
                        .isCloseTo(wa.get("timeMs").asDouble(), within(0.01));
                assertThat(a.get("transferredBytes").asLong())
                        .isEqualTo(wa.get("transferredBytes").asLong());
            }
        }
        assertThat(report.get("linkFailures").size()).isEqualTo(3);
    }

    @Test
    void shouldDrawACompareSideBySide() throws IOException {
        Path html = config.resolve("compare.html");
        Cli.Result r = cli.run(
                "compare",
                "--mem",
                "128M",
                "--workload",
                "idle",
                "--policies",
                "legacy,hint",
                "--report",
                html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.readString(html)).contains("legacy").contains("hint");
        Cli.Result refused = cli.run("compare", "--mem", "128M", "--no-journal", "--report", html.toString());
        assertThat(refused.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(refused.errLines()).hasSize(1);
    }

    @Test
    void shouldSayInOneLineWhenAJournalIsNotThere() {
        Cli.Result r = cli.run(
                "report",
                config.resolve("missing").toString(),
                "-o",
                config.resolve("x.html").toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(Files.exists(config.resolve("x.html"))).isFalse();
    }
}
