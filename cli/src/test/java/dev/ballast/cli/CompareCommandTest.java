package dev.ballast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class CompareCommandTest {
    @TempDir
    Path dir;

    FakeBackend sim;
    Cli cli;

    @BeforeEach
    void setUp() {
        sim = new FakeBackend("sim");
        cli = new Cli(dir, Backends.of(sim));
    }

    @Test
    void shouldRunEveryBuiltInPolicyOnTheSameScenarioAndSeed() {
        Cli.Result r = cli.run("compare", "--mem", "1G", "--workload", "memhog", "--seed", "42");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios).extracting(Scenario::policy)
                .containsExactly("legacy", "balloon", "hint", "bitmap", "hint+balloon");
        assertThat(sim.scenarios).extracting(s -> s.withPolicy("legacy")).containsOnly(sim.scenarios.getFirst());
        assertThat(sim.scenarios).allSatisfy(s -> assertThat(s.seed()).isEqualTo(42));
    }

    @Test
    void shouldPrintAnAlignedTableWithEveryPolicyAndPercentagesOfLegacy() {
        Cli.Result r = cli.run("compare", "--mem", "1G");

        List<String> lines = r.out().lines().toList();
        int header = indexOfLineStartingWith(lines, "policy");
        assertThat(header).isPositive();
        assertThat(lines.get(header)).contains("total ms", "downtime ms", "iter", "transferred", "normal", "zero",
                "skip-balloon", "skip-free", "verify", "time %legacy", "bytes %legacy");
        List<String> rows = lines.subList(header + 1, header + 6);
        assertThat(rows).extracting(l -> l.split("\\s+")[0])
                .containsExactly("legacy", "balloon", "hint", "bitmap", "hint+balloon");
        assertThat(rows).allSatisfy(l -> assertThat(l).hasSameSizeAs(lines.get(header)).contains(" ok "));
        assertThat(rows.get(0)).matches(".*  100\\.0%\\s+100\\.0%$");
        assertThat(rows.get(1)).matches(".*   50\\.0%\\s+50\\.0%$");
    }

    @Test
    void shouldCompareOnlyThePoliciesAskedFor() {
        Cli.Result r = cli.run("compare", "--policies", "hint,legacy");

        assertThat(r.exitCode()).isZero();
        assertThat(sim.scenarios).extracting(Scenario::policy).containsExactly("hint", "legacy");
    }

    @Test
    void shouldRefuseAPolicyNamedTwiceBeforePrintingAnything() {
        Cli.Result r = cli.run("compare", "--policies", "legacy,hint,legacy");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: --policies legacy,hint,legacy: legacy is named twice; name each policy once");
        assertThat(r.out()).isEmpty();
        assertThat(sim.scenarios).isEmpty();
    }

    @Test
    void shouldLeaveOutPercentagesWithoutLegacy() {
        Cli.Result r = cli.run("compare", "--policies", "hint,bitmap");

        assertThat(r.out()).doesNotContain("%legacy");
    }

    @Test
    void shouldWriteAJsonArrayInPolicyOrder() throws Exception {
        Cli.Result r = cli.run("compare", "--mem", "64M", "--json", "-");

        assertThat(r.exitCode()).isZero();
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(n.isArray()).isTrue();
        List<String> policies = new ArrayList<>();
        n.forEach(e -> policies.add(e.get("policy").asText()));
        assertThat(policies).containsExactly("legacy", "balloon", "hint", "bitmap", "hint+balloon");
        n.forEach(e -> assertThat(RunCommandTest.fieldNames(e)).containsSubsequence(RunCommandTest.DESIGN_FIELDS));
        assertThat(r.err()).contains("policy").contains("legacy");
    }

    @Test
    void shouldExitWith3WhenAnyPolicyBreaksAnInvariant() {
        Cli.Result r = cli.run("compare", "--policies", "legacy,broken,hint");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.INVARIANT_BROKEN);
        assertThat(sim.scenarios).hasSize(3);
        assertThat(r.out()).contains("FAILED");
        assertThat(r.errLines()).containsExactly(
                "ballast: invariant broken (policy broken, seed 1): invariant 1 (no lost write): pfn 0x1234 in ram-low differs");
    }

    @Test
    void shouldRejectAnUnknownPolicyBeforeRunningTheRest() {
        Cli.Result r = cli.run("compare", "--policies", "legacy,teleport");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("ballast: --policy teleport: unknown policy");
    }

    @Test
    void shouldNotAcceptPolicy() {
        Cli.Result r = cli.run("compare", "--policy", "hint");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).startsWith("ballast: unknown option '--policy' (did you mean --policies?)");
    }

    private static int indexOfLineStartingWith(List<String> lines, String prefix) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith(prefix)) return i;
        return -1;
    }
}
