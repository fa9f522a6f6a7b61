package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ballast.journal.JournalFormat;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Journals as a user meets them: written by run and compare, read by replay, inspect and diff. */
class JournalCommandsTest {
    @TempDir
    Path config;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend registered");
        cli = new Cli(config, backends);
    }

    private Path run(String policy, String... more) throws IOException {
        Path dir = config.resolve("j-" + policy.replace('+', '_') + "-" + more.length);
        String[] args = Stream.concat(
                        Stream.of(
                                "run",
                                "--mem",
                                "256M",
                                "--workload",
                                "compile",
                                "--policy",
                                policy,
                                "--journal",
                                dir.toString(),
                                "--json",
                                "-"),
                        Stream.of(more))
                .toArray(String[]::new);
        Cli.Result r = cli.run(args);
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(n.get("journal").get("path").asText()).isEqualTo(dir.toString());
        assertThat(n.get("journal").get("events").asLong()).isPositive();
        assertThat(n.get("journal").get("digest").asText()).hasSize(16);
        return dir;
    }

    @Test
    void shouldRefuseAnEmptyOrBackwardsEventRangeBeforePrintingAnything() throws IOException {
        Path j = run("hint");
        for (String range : new String[] {"20:0", "20:-5"}) {
            Cli.Result r = cli.run("inspect", j.toString(), "--events", range);

            assertThat(r.exitCode()).as(range).isEqualTo(ExitCodes.USAGE);
            assertThat(r.errLines())
                    .containsExactly("ballast: --events " + range
                            + ": COUNT must be at least 1 (FROM or FROM:COUNT, e.g. 20:10)");
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void shouldWriteAJournalByDefaultUnderRuns() {
        Cli.Result r = cli.run("run", "--mem", "64M", "--workload", "idle");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(config.resolve("runs").toFile().list()).hasSize(1);
        Cli.Result none = cli.run("run", "--mem", "64M", "--workload", "idle", "--no-journal");
        assertThat(none.exitCode()).isZero();
        assertThat(config.resolve("runs").toFile().list()).hasSize(1);
    }

    @Test
    void shouldReplayAJournalAndReproduceEveryDecision() throws IOException {
        Path j = run("hint", "--fail-at", "30%");
        Cli.Result r = cli.run("replay", j.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("every decision matches").contains("2 migration(s)");
    }

    @Test
    void shouldTellAPagesHistoryAndTheStateAtAnEvent() throws IOException {
        Path j = run("hint+balloon");
        Cli.Result page = cli.run("inspect", j.toString(), "--page", "0x0");
        assertThat(page.exitCode()).as(page.err()).isZero();
        assertThat(page.out()).contains("PFN 0x0 is ram-low+0x0").contains("sent with its data in pass 1");
        Cli.Result at = cli.run("inspect", j.toString(), "--at", "200");
        assertThat(at.exitCode()).as(at.err()).isZero();
        assertThat(at.out()).contains("event         200").contains("phase");
        Cli.Result bad = cli.run("inspect", j.toString(), "--at", "999999999");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.errLines()).hasSize(1);
    }

    @Test
    void shouldShowWhereTwoPoliciesPartAndExitOneAsDiffDoes() throws IOException {
        Cli.Result r = cli.run("diff", run("legacy").toString(), run("hint").toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(1);
        assertThat(r.out())
                .contains("header policy: legacy | hint")
                .contains("first difference at event")
                .contains("at the end, where they differ:");
        // only what differs: neither run had a link failure, so that line is not printed
        assertThat(r.out()).doesNotContain("link failures");
    }

    @Test
    void shouldExitZeroForTheSameRunWrittenTwice() throws IOException {
        Path a = run("hint");
        Path b = run("hint", "--seed", "1"); // the same run (seed 1 is the default), another journal
        Cli.Result r = cli.run("diff", a.toString(), b.toString());
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out())
                .contains("the event streams are the same")
                .doesNotContain("at the end")
                .doesNotContain("header policy");
    }

    @Test
    void shouldReportDamageWithItsPositionInOneLine() throws IOException {
        Path j = run("bitmap");
        Path cq4;
        try (Stream<Path> files = Files.list(j)) {
            cq4 = files.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
        // flip a byte inside the records of the second batch document ("BJBT", little-endian, 4-byte aligned)
        byte[] all = Files.readAllBytes(cq4);
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(all).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long at = -1;
        int seen = 0;
        for (int i = 0; i + 4 <= all.length && at < 0; i += 4) {
            if (bb.getInt(i) == JournalFormat.KIND_BATCH && ++seen == 2)
                at = i + JournalFormat.BATCH_RECORDS_OFFSET + 100;
        }
        assertThat(at).as("a second batch document").isPositive();
        try (RandomAccessFile f = new RandomAccessFile(cq4.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5A);
        }
        Cli.Result r = cli.run("replay", j.toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("event").containsIgnoringCase("damaged");
    }

    @Test
    void shouldRefuseSomethingThatIsNotAJournal() {
        Cli.Result r = cli.run("replay", config.resolve("nothing-here").toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
    }

    /** A journal of format 1 (before documents carried their header's id) still replays: see journal's JournalRoundTripTest. */
    @Test
    void shouldReplayAJournalOfTheFormerFormat() throws IOException {
        Path dir = Files.createDirectories(config.resolve("format1"));
        try (var in = new java.util.zip.GZIPInputStream(
                JournalCommandsTest.class.getResourceAsStream("format1-compile-hint-seed1.cq4.gz"))) {
            Files.copy(in, dir.resolve("20261203H.cq4"));
        }
        Cli.Result r = cli.run("replay", dir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("replayed 1617 events")
                .contains("every decision matches, digest 062c715c7fe7a066");
    }
}
