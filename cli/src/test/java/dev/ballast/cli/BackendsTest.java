package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendsTest {
    @Test
    void shouldFindBackendsRegisteredAsServices() {
        // FakeBackend is registered in META-INF/services of the test class path, as "fake".
        assertThat(Backends.discover().get("fake")).isInstanceOf(FakeBackend.class);
    }

    /** A backend the command line has never heard of runs by its name alone: adding one touches no class of the CLI. */
    @Test
    void shouldRunABackendRegisteredAsAServiceByItsNameAlone(@TempDir Path dir) throws Exception {
        Cli.Result r = new Cli(dir, Backends.discover())
                .run("run", "--backend", "fake", "--mem", "64M", "--policy", "hint", "--no-journal", "--json", "-");

        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode n = Json.MAPPER.readTree(r.out());
        assertThat(n.get("backend").asText()).isEqualTo("fake");
        assertThat(n.get("policy").asText()).isEqualTo("hint");
        assertThat(r.err()).startsWith("ballast run: fake, 64.0 MiB guest").contains("bandwidth unlimited");
    }

    @Test
    void shouldNameTheBackendsThereAreWhenOneIsMissing() {
        assertThatThrownBy(() -> Backends.of(new FakeBackend("sim")).get("kvm"))
                .isInstanceOf(UsageException.class)
                .hasMessage("--backend kvm: no such backend in this build (available: sim)");
    }
}
