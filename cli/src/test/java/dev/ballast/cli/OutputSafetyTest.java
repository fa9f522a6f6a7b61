package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No command writes into a journal, over one of its inputs, or over a file of another kind, and every output path is
 * checked before any work starts: a bad one is one plain line, exit 2, and nothing run.
 */
class OutputSafetyTest {
    @TempDir
    Path dir;

    FakeBackend sim;
    Cli cli;

    @BeforeEach
    void setUp() {
        sim = new FakeBackend("sim");
        cli = new Cli(dir, Backends.of(sim));
    }

    /** A directory that looks like a journal to every command: it holds a queue file. */
    private Path journal(String name) throws IOException {
        Path j = Files.createDirectories(dir.resolve(name));
        Files.write(j.resolve("20261203F.cq4"), new byte[] {1, 2, 3, 4});
        Files.write(j.resolve("metadata.cq4t"), new byte[] {5, 6});
        return j;
    }

    private void assertRefusedBeforeWork(Cli.Result r, String... fragments) {
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().getFirst())
                .startsWith("ballast: ")
                .contains(fragments)
                .doesNotContain("Exception", ".tmp");
        assertThat(r.out()).isEmpty();
        assertThat(sim.scenarios).as("no run started").isEmpty();
    }

    @Test
    void reportShouldNeverWriteOverAJournalsQueueFile() throws IOException {
        Cli real = new Cli(dir, Backends.discover());
        Path j = dir.resolve("j");
        assertThat(real.run("run", "--mem", "64M", "--policy", "hint", "--journal", j.toString())
                        .exitCode())
                .isZero();
        Path queue;
        try (var files = Files.list(j)) {
            queue = files.filter(f -> f.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
        byte[] before = Files.readAllBytes(queue);
        Cli.Result r = real.run("report", j.toString(), "-o", queue.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines())
                .containsExactly("ballast: -o " + queue + ": is inside " + j
                        + ", which the command reads or writes; name a file elsewhere");
        assertThat(Files.readAllBytes(queue)).isEqualTo(before);
        Cli.Result forced = real.run("report", j.toString(), "-o", queue.toString(), "--force");
        assertThat(forced.exitCode())
                .as("--force does not allow writing into a journal")
                .isEqualTo(ExitCodes.USAGE);
        assertThat(Files.readAllBytes(queue)).isEqualTo(before);
        assertThat(real.run("replay", j.toString()).exitCode()).isZero();
    }

    @Test
    void reportShouldNotWriteIntoAnotherJournalEither() throws IOException {
        Path j = journal("j");
        Path other = journal("other");
        assertRefusedBeforeWork(
                cli.run("report", j.toString(), "-o", other.resolve("r.html").toString()), "is inside the journal");
        assertThat(other.resolve("r.html")).doesNotExist();
    }

    @Test
    void reportShouldRefuseToOverwriteAFileThatIsNotHtmlUnlessForced() throws IOException {
        Path j = journal("j");
        Path notes = dir.resolve("notes.txt");
        Files.writeString(notes, "my notes\n");
        assertRefusedBeforeWork(
                cli.run("report", j.toString(), "-o", notes.toString()), "is not an HTML file", "--force");
        assertThat(Files.readString(notes)).isEqualTo("my notes\n");
    }

    @Test
    void runShouldCheckItsJsonPathBeforeRunning() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("results"));
        assertRefusedBeforeWork(cli.run("run", "--json", folder.toString()), "--json " + folder, "is a directory");

        Path file = Files.writeString(dir.resolve("plain"), "x");
        assertRefusedBeforeWork(
                cli.run("run", "--json", file.resolve("run.json").toString()), "no such directory");

        Path text = Files.writeString(dir.resolve("run.txt"), "not json");
        assertRefusedBeforeWork(cli.run("run", "--json", text.toString()), "is not a JSON file");
        assertThat(Files.readString(text)).isEqualTo("not json");
    }

    @Test
    void runShouldOverwriteItsOwnKindOfFileOrAnyFileWithForce() throws IOException {
        Path old = Files.writeString(dir.resolve("old.json"), "{\"old\": true}");
        Cli.Result r = cli.run("run", "--json", old.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.readString(old)).contains("\"policy\"");

        Path text = Files.writeString(dir.resolve("run.txt"), "not json");
        Cli.Result forced = cli.run("run", "--json", text.toString(), "--force");
        assertThat(forced.exitCode()).as(forced.err()).isZero();
        assertThat(Files.readString(text)).contains("\"policy\"");
    }

    @Test
    void runShouldNotWriteItsJsonIntoTheJournalItKeepsOrOverTheProfileItReads() throws IOException {
        Path j = dir.resolve("j");
        assertRefusedBeforeWork(
                cli.run(
                        "run",
                        "--journal",
                        j.toString(),
                        "--json",
                        j.resolve("run.json").toString()),
                "is inside");
        Path profile = dir.resolve("profile.json");
        CostProfiles.write(profile, dev.ballast.core.run.CostProfile.defaults());
        String before = Files.readString(profile);
        assertRefusedBeforeWork(
                cli.run("run", "--profile", profile.toString(), "--json", profile.toString()),
                "is one of the command's inputs");
        assertThat(Files.readString(profile)).isEqualTo(before);
    }

    @Test
    void compareShouldCheckItsReportPathBeforeRunning() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("pictures"));
        assertRefusedBeforeWork(
                cli.run("compare", "--report", folder.toString()), "--report " + folder, "is a directory");
        Path same = dir.resolve("both");
        assertRefusedBeforeWork(
                cli.run("compare", "--report", same.toString(), "--json", same.toString()), "name two files");
    }

    @Test
    void calibrateShouldCheckItsOutputBeforeMeasuringAndSayHowToUseIt() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("profiles"));
        Cli.Result r = cli.run("calibrate", "--out", folder.toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: --out " + folder + ": is a directory; name a file");
        assertThat(r.out()).isEmpty();

        Path out = dir.resolve("p.json");
        Cli.Result ok = cli.run(
                "calibrate",
                "--out",
                out.toString(),
                "--working-set",
                "4M",
                "--passes",
                "1",
                "--tcp-bytes",
                "4M",
                "--tcp-round-trips",
                "20",
                "--bitmap-pages",
                "65536");
        assertThat(ok.exitCode()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("ballast run --profile " + out);
    }

    @Test
    void shouldRecogniseTheKindsItWrites() throws IOException {
        Path html = Files.writeString(dir.resolve("a.html"), "\n  <!DOCTYPE html><html></html>");
        Path json = Files.writeString(dir.resolve("a.json"), " [1]");
        Path empty = Files.writeString(dir.resolve("empty"), "");
        assertThat(OutputFile.isOfKind(html, OutputFile.Kind.HTML)).isTrue();
        assertThat(OutputFile.isOfKind(html, OutputFile.Kind.JSON)).isFalse();
        assertThat(OutputFile.isOfKind(json, OutputFile.Kind.JSON)).isTrue();
        assertThat(OutputFile.isOfKind(json, OutputFile.Kind.HTML)).isFalse();
        assertThat(OutputFile.isOfKind(empty, OutputFile.Kind.HTML)).isTrue();
        assertThat(OutputFile.check("-o", dir.resolve("new/deeper/r.html"), OutputFile.Kind.HTML, false, List.of()))
                .isEqualTo(dir.resolve("new/deeper/r.html"));
    }
}
