package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every command's help sends the reader to files of {@code docs/} that a clone has, never to a document outside it. */
class HelpDocsTest {
    private static final Pattern DOC = Pattern.compile("([a-z-]+\\.md)");

    @TempDir
    Path config;

    private Cli cli;

    @BeforeEach
    void setUp() {
        cli = new Cli(config, Backends.of(new FakeBackend("sim")));
    }

    static Path docs() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("docs")) && Files.isRegularFile(dir.resolve("pom.xml")))
                return dir.resolve("docs");
        }
        throw new AssertionError("no docs/ above " + Path.of("").toAbsolutePath());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "run", "compare", "replay", "inspect", "diff", "report", "calibrate", "dest"})
    void shouldCiteOnlyDocumentsOfTheRepository(String command) {
        Cli.Result r = command.isEmpty() ? cli.run("--help") : cli.run(command, "--help");
        assertThat(r.exitCode()).isZero();
        String help = r.out().replaceAll("\\s+", " ");
        assertThat(help).doesNotContain("DESIGN").doesNotContain("../shared").contains("docs/");
        Matcher m = DOC.matcher(help);
        int cited = 0;
        while (m.find()) {
            assertThat(docs().resolve(m.group(1)))
                    .as("%s --help cites %s", command, m.group(1))
                    .isRegularFile();
            cited++;
        }
        assertThat(cited).isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "compare"})
    void shouldKeepTheRandomSeedApartFromTheSeeds(String command) {
        String help = cli.run(command, "--help").out().replaceAll("\\s+", " ");
        assertThat(help)
                .contains("--seed=N Random seed of the run (not one of the seeds, the patch series of docs/seeds.md)");
    }
}
