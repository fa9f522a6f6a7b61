package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class MainTest {
    @TempDir
    Path config;

    FakeBackend sim;
    Cli cli;

    @BeforeEach
    void setUp() {
        sim = new FakeBackend("sim");
        cli = new Cli(config, Backends.of(sim));
    }

    /** One line on stderr, starting with "ballast: ", and no stack trace. */
    private static void assertOneErrorLine(Cli.Result r, String start) {
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err())
                .startsWith("ballast: " + start)
                .doesNotContain("Exception")
                .doesNotContain("\tat ");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "--mem|8X|--mem 8X: size '8X': expected",
                "--bandwidth|fast|--bandwidth fast: bandwidth 'fast': expected",
                "--workload|nope|--workload nope: unknown workload (one of idle",
                "--workload|balloon:|--workload balloon:: nothing after ':'",
                "--hint-start-id|0x1|--hint-start-id 0x1: must be in [0x80000000, 0xffffffff]",
                "--hint-start-id|0x100000000|--hint-start-id 0x100000000: must be in [0x80000000, 0xffffffff]",
                "--poison|0x100|--poison 0x100: must be a byte",
                "--downtime|soon|--downtime soon: duration 'soon': expected",
                "--fail-at|later|--fail-at later: expected a percentage",
                "--balloon-messages|morse|--balloon-messages morse: expected pfn (PFN arrays) or bitmap",
                "--seed|abc|--seed abc: 'abc' is not a long",
                "--chain|0|--chain 0: must be in [1, 64]",
                "--max-iterations|0|--max-iterations 0: must be >= 1",
                "--mem|1000|--mem 1000: must be at least 1M",
            })
    void shouldRejectABadValueWithOneLineAndExitCode2(String option, String value, String message) {
        Cli.Result r = cli.run("run", option, value);

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertOneErrorLine(r, message);
        assertThat(sim.scenarios).isEmpty();
    }

    @Test
    void shouldRejectAnUnknownOptionAndSuggestTheNearest() {
        Cli.Result r = cli.run("run", "--mme", "8G");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertOneErrorLine(r, "unknown option '--mme' (did you mean --mem?); see 'ballast run --help'");
    }

    @Test
    void shouldRejectAnUnknownCommand() {
        Cli.Result r = cli.run("migrate");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertOneErrorLine(r, "unexpected argument 'migrate'");
    }

    @Test
    void shouldRejectAPolicyTheBackendDoesNotKnow() {
        Cli.Result r = cli.run("run", "--policy", "teleport");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertOneErrorLine(r, "--policy teleport: unknown policy");
    }

    @Test
    void shouldRejectABackendThatIsNotThere() {
        Cli.Result r = cli.run("run", "--backend", "kvm");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertOneErrorLine(r, "--backend kvm: no such backend in this build (available: sim)");
    }

    @Test
    void shouldRejectJournalAndNoJournalTogether() {
        Cli.Result r = cli.run("run", "--journal", "j", "--no-journal");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).contains("mutually exclusive");
    }

    @Test
    void shouldShowUsageAndExit2WithoutACommand() {
        Cli.Result r = cli.run();

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err())
                .contains("Usage: ballast")
                .contains("run")
                .contains("compare")
                .contains("calibrate");
    }

    @Test
    void shouldReportARuntimeErrorInOneLineWithExitCode1() {
        sim.failure = s -> new UncheckedIOException(new java.io.IOException("/dev/kvm: No such file or directory"));

        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertOneErrorLine(r, "/dev/kvm: No such file or directory");
    }

    @Test
    void shouldCallAnUnexpectedErrorAnInternalErrorAndPointAtTheStackTrace() {
        sim.failure = s -> new NullPointerException("boom");

        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("ballast: internal error: boom (BALLAST_DEBUG=1 shows the stack trace)\n");
        cli.env.put("BALLAST_DEBUG", "1");
        assertThat(cli.run("run").err())
                .contains("java.lang.NullPointerException: boom")
                .contains("\tat ");
    }

    @Test
    void shouldPrintTheStackTraceWithBallastDebug() {
        sim.failure = s -> new IllegalStateException("boom");
        cli.env.put("BALLAST_DEBUG", "1");

        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err())
                .contains("java.lang.IllegalStateException: boom")
                .contains("\tat ")
                .endsWith("ballast: boom\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "compare", "calibrate"})
    void shouldShowHelpForEveryCommand(String command) {
        Cli.Result r = cli.run(command, "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out())
                .contains("Usage: ballast " + command)
                .contains("Exit codes:")
                .contains("  2  bad command line");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void shouldListRunOptionsAndInvariantExitCodeInRunHelp() {
        Cli.Result r = cli.run("run", "--help");

        assertThat(r.out())
                .contains(
                        "--backend",
                        "--mem",
                        "--workload",
                        "--policy",
                        "--seed",
                        "--bandwidth",
                        "--downtime",
                        "--max-iterations",
                        "--time-cap",
                        "--chain",
                        "--fail-at",
                        "--poison",
                        "--no-tell-host",
                        "--balloon-messages",
                        "--hint-start-id",
                        "--profile",
                        "--json",
                        "--journal",
                        "--no-journal",
                        "  3  a run broke an invariant",
                        "--dest",
                        "--secret-file",
                        "--timeout");
    }

    @Test
    void shouldShowHelpForTheTopCommand() {
        Cli.Result r = cli.run("--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: ballast", "run", "compare", "calibrate", "Exit codes:");
    }

    @Test
    void shouldPrintTheVersion() {
        Cli.Result r = cli.run("--version");

        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).startsWith("ballast ").contains("Java 25");
    }

    @Test
    void shouldNeverEndAnErrorLineWithAJavaClassName() {
        dev.ballast.journal.JournalException damaged = new dev.ballast.journal.JournalException(
                "damaged journal j at event 5 (Chronicle index 0x1): checksum mismatch in batch document");
        assertThat(Main.explain(damaged)).isEqualTo(damaged.getMessage());
        assertThat(Main.explain(new IllegalStateException("the link is down"))).isEqualTo("the link is down");
        for (Throwable unexpected : new Throwable[] {
            new NullPointerException("Cannot invoke \"x\" because \"y\" is null"),
            new InternalError("a fault occurred in an unsafe memory access operation"),
            new ClassCastException(),
            new IndexOutOfBoundsException("Index 7 out of bounds for length 7")
        }) {
            assertThat(Main.explain(unexpected))
                    .as(unexpected.toString())
                    .startsWith("internal error: ")
                    .endsWith("(BALLAST_DEBUG=1 shows the stack trace)")
                    .doesNotContain(unexpected.getClass().getSimpleName());
        }
    }
}
