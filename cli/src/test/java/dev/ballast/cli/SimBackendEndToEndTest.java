package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line on the real simulated backend, as a user runs it; skipped while no "sim" backend is registered. */
class SimBackendEndToEndTest {
    @TempDir
    Path config;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend registered yet (META-INF/services/dev.ballast.core.run.Backend in sim-backend)");
        cli = new Cli(config, backends);
    }

    @Test
    void shouldRunASmallIdleGuestAndWriteItsJson() throws Exception {
        Cli.Result r = cli.run("run", "--mem", "64M", "--workload", "idle", "--policy", "hint", "--json", "-");

        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(RunCommandTest.fieldNames(n)).containsSubsequence(RunCommandTest.DESIGN_FIELDS);
        assertThat(n.get("backend").asText()).isEqualTo("sim");
        assertThat(n.get("policy").asText()).isEqualTo("hint");
        assertThat(n.get("guestMemBytes").asLong()).isEqualTo(64L << 20);
        assertThat(n.get("verify").get("ok").asBoolean()).isTrue();
    }

    @Test
    void shouldCompareEveryPolicyOnASmallGuest() {
        Cli.Result r = cli.run("compare", "--mem", "64M", "--workload", "memhog");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("legacy", "balloon", "hint", "bitmap", "hint+balloon");
    }

    @Test
    void shouldRejectAnUnknownPolicyInOneLine() {
        Cli.Result r = cli.run("run", "--mem", "64M", "--policy", "teleport");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("ballast: ").contains("teleport");
    }
}
