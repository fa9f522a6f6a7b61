package dev.ballast.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** ballast report and compare --report as a user runs them. */
class ReportCommandTest {
    @TempDir
    Path config;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)), "no sim backend");
        cli = new Cli(config, backends);
    }

    @Test
    void shouldDrawARunFromItsJournal() throws IOException {
        Path j = config.resolve("j");
        assertThat(cli.run("run", "--mem", "128M", "--workload", "memhog", "--policy", "hint", "--journal", j.toString()).exitCode()).isZero();
        Path html = config.resolve("out/one.html");
        Cli.Result r = cli.run("report", j.toString(), "-o", html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        String page = Files.readString(html);
        assertThat(page).startsWith("<!DOCTYPE html>").contains("echarts").contains("memhog").doesNotContain("<script src=");
    }

    @Test
    void shouldDrawACompareSideBySide() throws IOException {
        Path html = config.resolve("compare.html");
        Cli.Result r = cli.run("compare", "--mem", "128M", "--workload", "idle", "--policies", "legacy,hint", "--report", html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.readString(html)).contains("legacy").contains("hint");
        Cli.Result refused = cli.run("compare", "--mem", "128M", "--no-journal", "--report", html.toString());
        assertThat(refused.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(refused.errLines()).hasSize(1);
    }

    @Test
    void shouldSayInOneLineWhenAJournalIsNotThere() {
        Cli.Result r = cli.run("report", config.resolve("missing").toString(), "-o", config.resolve("x.html").toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(Files.exists(config.resolve("x.html"))).isFalse();
    }
}
