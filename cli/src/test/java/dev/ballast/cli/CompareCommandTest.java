package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ballast.core.run.Scenario;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        assertThat(sim.scenarios)
                .extracting(Scenario::policy)
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
        assertThat(lines.get(header))
                .contains(
                        "total ms",
                        "downtime ms",
                        "iter",
                        "transferred",
                        "normal",
                        "zero",
                        "skip-balloon",
                        "skip-free",
                        "verify",
                        "time %legacy",
                        "bytes %legacy");
        List<String> rows = lines.subList(header + 1, header + 6);
        assertThat(rows)
                .extracting(l -> l.split("\\s+")[0])
                .containsExactly("legacy", "balloon", "hint", "bitmap", "hint+balloon");
        assertThat(rows)
                .allSatisfy(l -> assertThat(l).hasSameSizeAs(lines.get(header)).contains(" ok "));
        assertThat(rows.get(0)).matches(".*  100\\.0%\\s+100\\.0%$");
        assertThat(rows.get(1)).matches(".*   50\\.0%\\s+50\\.0%$");
    }

    @Test
    void shouldCompareWhatTheBackendRunsWhenNoPolicyIsNamed() {
        FakeBackend qemu = new FakeBackend("qemu");
        Cli.Result r = new Cli(dir, Backends.of(sim, qemu))
                .run(
                        "compare",
                        "--backend",
                        "qemu",
                        "--mem",
                        "1G",
                        "--workload",
                        "memhog",
                        "--no-warm-up",
                        "--no-journal");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(qemu.scenarios).extracting(Scenario::policy).containsExactly("legacy", "hint");
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
        assertThat(r.errLines())
                .containsExactly(
                        "ballast: --policies legacy,hint,legacy: legacy is named twice; name each policy once");
        assertThat(r.out()).isEmpty();
        assertThat(sim.scenarios).isEmpty();
    }

    @Test
    void shouldNameTheOptionTheUserTypedForAnUnknownPolicy() {
        Cli.Result r = cli.run("compare", "--policies", "legacy,nosuch");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines())
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .startsWith("ballast: --policies legacy,nosuch: nosuch: unknown policy (one of legacy,");
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
        assertThat(r.errLines())
                .containsExactly(
                        "ballast: invariant broken (policy broken, seed 1): invariant 1 (no lost write): pfn 0x1234 in ram-low differs");
    }

    @Test
    void shouldRejectAnUnknownPolicyBeforeRunningTheRest() {
        Cli.Result r = cli.run("compare", "--policies", "legacy,teleport");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("ballast: --policies legacy,teleport: teleport: unknown policy");
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

    @Test
    void shouldInterleaveRepeatedRoundsSoNoPolicyAlwaysRunsFirst() throws Exception {
        Path json = dir.resolve("rounds.json");
        Cli.Result r =
                cli.run("compare", "--policies", "legacy,hint,bitmap", "--repeat", "3", "--json", json.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios)
                .extracting(Scenario::policy)
                .containsExactly("legacy", "hint", "bitmap", "hint", "bitmap", "legacy", "bitmap", "legacy", "hint");
        JsonNode runs = new ObjectMapper().readTree(json.toFile());
        assertThat(runs).hasSize(9);
        assertThat(runs.get(0).get("round").asInt()).isEqualTo(1);
        assertThat(runs.get(8).get("round").asInt()).isEqualTo(3);
        assertThat(runs.get(3).get("policy").asText()).isEqualTo("legacy");
    }

    @Test
    void shouldShowMediansRangesAndThePerRoundRatioToLegacy() {
        // Every run takes 10 ms longer than the one before it: legacy (1000 ms) and hint (333.3 ms) take turns going
        // first.
        sim.driftMsPerRun = 10;
        Cli.Result r = cli.run("compare", "--policies", "legacy,hint", "--repeat", "3");

        assertThat(r.exitCode()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        int header = indexOfLineStartingWith(lines, "policy");
        assertThat(lines.get(header)).contains("total ms (range)", "time %legacy (range)");
        // legacy ran 1st, 4th, 5th: 1000, 1030, 1040 ms.
        assertThat(lines.get(header + 1))
                .startsWith("legacy")
                .contains("1030.0 (1000.0-1040.0)", "100.0% (100.0-100.0)");
        // hint ran 2nd, 3rd, 6th: 343.3, 353.3, 383.3 ms; its ratio per round 343.3/1000, 353.3/1030, 383.3/1040.
        assertThat(lines.get(header + 2)).startsWith("hint").contains("353.3 (343.3-383.3)", "34.3% (34.3-36.9)");
        assertThat(r.out()).contains("3 interleaved rounds");
    }

    @Test
    void shouldWarmUpEveryPolicyUntimedOnABackendThatMeasuresWallTime() {
        sim.wallTime = true;
        sim.driftMsPerRun = 10;
        Cli.Result r = cli.run("compare", "--policies", "legacy,hint", "--no-journal");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios).extracting(Scenario::policy).containsExactly("legacy", "hint", "legacy", "hint");
        assertThat(r.out()).contains("after an untimed warm-up of every policy");
        // The table shows the timed runs (3rd and 4th: legacy 1000 + 20, hint 333.3 + 30), not the warm-up.
        assertThat(r.out()).contains("1020.0", "363.3").doesNotContain("1000.0 ");

        sim.scenarios.clear();
        assertThat(cli.run("compare", "--policies", "legacy,hint", "--no-warm-up")
                        .exitCode())
                .isZero();
        assertThat(sim.scenarios).hasSize(2);
    }

    @Test
    void shouldRefuseARepeatOutOfRange() {
        Cli.Result r = cli.run("compare", "--repeat", "0");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: --repeat 0: must be in [1, 1000]");
        assertThat(sim.scenarios).isEmpty();
    }
}
