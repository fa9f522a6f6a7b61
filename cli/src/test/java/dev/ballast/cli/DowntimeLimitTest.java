package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run whose downtime went over its limit says so. An 8 GiB simulated guest's dirty-log sync costs 16 ms at the
 * default cost profile (2 ms per GiB), so a 10 ms limit cannot be met: the final sync alone is over it.
 */
class DowntimeLimitTest {
    @TempDir
    Path dir;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend registered");
        cli = new Cli(dir.resolve("config"), backends);
    }

    @Test
    void shouldFlagARunWhoseDowntimeWentOverItsLimit() throws Exception {
        Path json = dir.resolve("run.json");
        Cli.Result r = cli.run(
                "run",
                "--mem",
                "8G",
                "--workload",
                "random-write",
                "--downtime",
                "10ms",
                "--max-iterations",
                "5",
                "--no-journal",
                "--json",
                json.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode n = new ObjectMapper().readTree(json.toFile());
        assertThat(n.get("outcome").asText()).isEqualTo("completed");
        assertThat(n.get("downtimeLimitMs").asDouble()).isEqualTo(10.0);
        assertThat(n.get("downtimeExceeded").asBoolean()).isTrue();
        assertThat(n.get("downtimeMs").asDouble()).isGreaterThan(16.0);
        // the estimate counts the final sync: at least 16 ms, so it never fit, and the cap paused the guest after
        // pass 5: the stop-and-copy is pass 6
        assertThat(n.get("expectedDowntimeMs").asDouble()).isGreaterThanOrEqualTo(16.0);
        assertThat(n.get("iterations").asInt()).isEqualTo(6);
        String downtime = r.out()
                .lines()
                .filter(l -> l.strip().startsWith("downtime"))
                .findFirst()
                .orElseThrow();
        assertThat(downtime).contains("limit 10.0 ms)").contains("OVER THE LIMIT by ");

        // QEMU's ram counters agree with the run's own figures
        JsonNode ram = n.get("ram");
        long transferred = n.get("transferredBytes").asLong();
        assertThat(ram.get("transferred").asLong()).isEqualTo(transferred);
        assertThat(ram.get("total").asLong()).isEqualTo(8L << 30);
        assertThat(ram.get("page-size").asLong()).isEqualTo(4096);
        assertThat(ram.get("normal").asLong())
                .isEqualTo(n.get("pages").get("normal").asLong());
        assertThat(ram.get("duplicate").asLong())
                .isEqualTo(n.get("pages").get("zero").asLong());
        assertThat(ram.get("normal-bytes").asLong()).isEqualTo(ram.get("normal").asLong() * 4096);
        assertThat(ram.get("precopy-bytes").asLong() + ram.get("downtime-bytes").asLong())
                .isEqualTo(transferred);
        assertThat(ram.get("downtime-bytes").asLong()).isPositive();
        double seconds = (n.get("totalTimeMs").asDouble() - n.get("setupTimeMs").asDouble()) / 1000;
        assertThat(ram.get("mbps").asDouble()).isCloseTo(transferred * 8 / seconds / 1e6, within(1e-6));
        assertThat(ram.get("pages-per-second").asDouble())
                .isCloseTo((ram.get("normal").asLong() + ram.get("duplicate").asLong()) / seconds, within(1.0));
        // the setup's sync, one after each of the five passes before the pause, the final one
        assertThat(ram.get("dirty-sync-count").asLong()).isEqualTo(7);
        assertThat(ram.get("dirty-pages-rate").asLong()).isPositive();
        assertThat(ram.get("remaining").asLong()).isPositive();
    }

    @Test
    void shouldFlagTheRowsOfACompareWhoseDowntimeWentOverTheLimit() throws Exception {
        // the same guest as above: every policy's final sync alone is over the 10 ms limit, so every row says so
        Cli.Result r = cli.run(
                "compare",
                "--mem",
                "8G",
                "--workload",
                "random-write",
                "--downtime",
                "10ms",
                "--max-iterations",
                "5",
                "--policies",
                "legacy,hint",
                "--no-journal");
        assertThat(r.exitCode()).as(r.err()).isZero();
        var rows = r.out()
                .lines()
                .filter(l -> l.startsWith("legacy ") || l.startsWith("hint "))
                .toList();
        assertThat(rows).hasSize(2).allSatisfy(l -> assertThat(l).contains(" OVER "));
        assertThat(r.out()).contains("OVER: the downtime went over its limit (10.0 ms)");

        // and a limit that every run meets marks none
        Cli.Result met =
                cli.run("compare", "--mem", "1G", "--workload", "idle", "--policies", "legacy", "--no-journal");
        assertThat(met.exitCode()).as(met.err()).isZero();
        assertThat(met.out()).doesNotContain("OVER");
    }
}
