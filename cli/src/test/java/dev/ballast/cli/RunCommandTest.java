package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RunCommandTest {
    /** The fields every run's JSON starts with, in their order (docs/reference.md, --json). */
    static final List<String> DESIGN_FIELDS = List.of(
            "backend",
            "workload",
            "policy",
            "guestMemBytes",
            "seed",
            "timeModel",
            "totalTimeMs",
            "downtimeMs",
            "setupTimeMs",
            "iterations",
            "transferredBytes",
            "pages",
            "hints",
            "verify",
            "journal");

    @TempDir
    Path dir;

    FakeBackend sim;
    FakeBackend kvm;
    Cli cli;

    @BeforeEach
    void setUp() {
        sim = new FakeBackend("sim");
        kvm = new FakeBackend("kvm");
        cli = new Cli(dir.resolve("config"), Backends.of(sim, kvm));
    }

    @Test
    void shouldRunTheSeedsDefaultsWithoutOptions() {
        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).isZero();
        assertThat(sim.scenarios).containsExactly(Scenario.sim(8L << 30, "idle", "legacy", 1));
        assertThat(r.out())
                .contains("ballast run: sim, 8.0 GiB guest, workload idle, policy legacy, seed 1, bandwidth 10 Gbit/s")
                .contains("cost profile: built-in defaults (no calibrated profile at " + dir.resolve("config"));
        assertThat(r.err()).isEmpty();
    }

    @Test
    void shouldPassEveryOptionIntoTheScenario() {
        Cli.Result r = cli.run(
                "run",
                "--mem",
                "512M",
                "--workload",
                "random-write,rate=200MiB/s",
                "--policy",
                "hint+balloon",
                "--seed",
                "7",
                "--bandwidth",
                "1Gbit",
                "--downtime",
                "300ms",
                "--max-iterations",
                "5",
                "--time-cap",
                "10s",
                "--chain",
                "3",
                "--fail-at",
                "40%",
                "--poison",
                "0xaa",
                "--no-tell-host",
                "--balloon-messages",
                "bitmap",
                "--hint-start-id",
                "0xfffffff0",
                "--profile",
                "defaults",
                "--no-journal");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios)
                .containsExactly(new Scenario(
                        "sim",
                        512L << 20,
                        WorkloadSpec.parse("random-write,rate=200MiB/s"),
                        "hint+balloon",
                        7,
                        1_000_000_000L,
                        300_000_000L,
                        5,
                        10_000_000_000L,
                        3,
                        FailPoint.parse("40%"),
                        0xaa,
                        false,
                        BalloonMessages.BITMAP,
                        0xfffffff0L,
                        CostProfile.defaults()));
    }

    @Test
    void shouldAcceptDecimalPoisonAndRandomFailPoint() {
        Cli.Result r = cli.run("run", "--poison", "170", "--fail-at", "random", "--hint-start-id", "4294967295");

        assertThat(r.exitCode()).as(r.err()).isZero();
        Scenario s = sim.scenarios.getFirst();
        assertThat(s.poisonByte()).isEqualTo(0xaa);
        assertThat(s.failAt()).isEqualTo(FailPoint.atRandom());
        assertThat(s.hintStartCommandId()).isEqualTo(0xffff_ffffL);
    }

    /** The journal header's {@code scenario} keeps the text fields it always had, typed values written as the user writes them. */
    @Test
    void shouldWriteTheScenariosTypedValuesAsTextInJson() throws Exception {
        Scenario s = Scenario.sim(64L << 20, "idle", "hint", 1)
                .withFailAt("40%")
                .withGuest(0, true, "bitmap", Scenario.MIN_COMMAND_ID);

        JsonNode n = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(s));

        assertThat(n.get("backend").asText()).isEqualTo("sim");
        assertThat(n.get("failAt").asText()).isEqualTo("40%");
        assertThat(n.get("balloonMessages").asText()).isEqualTo("bitmap");
        assertThat(n.get("workload").get("name").asText()).isEqualTo("idle");
    }

    @Test
    void shouldLeaveKvmBandwidthUnlimitedByDefault() {
        Cli.Result r = cli.run("run", "--backend", "kvm", "--mem", "1G");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(kvm.scenarios.getFirst().bandwidthBitsPerSec()).isZero();
        assertThat(r.out()).contains("bandwidth unlimited").doesNotContain("cost profile");
    }

    @Test
    void shouldTreatBandwidthZeroAsUnlimited() {
        assertThat(cli.run("run", "--bandwidth", "0").exitCode()).isZero();
        assertThat(sim.scenarios.getFirst().bandwidthBitsPerSec()).isZero();
    }

    @Test
    void shouldWriteTheJsonFieldsOfTheDesignInItsOrder() throws Exception {
        Path json = dir.resolve("out/run.json");

        Cli.Result r = cli.run("run", "--mem", "64M", "--policy", "hint", "--json", json.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode n = new ObjectMapper().readTree(json.toFile());
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        assertThat(names).containsSubsequence(DESIGN_FIELDS);
        assertThat(n.get("backend").asText()).isEqualTo("sim");
        assertThat(n.get("workload").asText()).isEqualTo("idle");
        assertThat(n.get("policy").asText()).isEqualTo("hint");
        assertThat(n.get("guestMemBytes").asLong()).isEqualTo(64L << 20);
        assertThat(n.get("seed").asLong()).isEqualTo(1);
        assertThat(n.get("timeModel").asText()).isEqualTo("virtual");
        assertThat(n.get("totalTimeMs").isNumber()).isTrue();
        assertThat(fieldNames(n.get("pages"))).containsSubsequence("normal", "zero", "skippedBalloon", "skippedFree");
        assertThat(fieldNames(n.get("hints"))).containsSubsequence("requests", "ranges", "pages");
        assertThat(fieldNames(n.get("verify"))).containsSubsequence("checkedPages", "mismatchedPages", "ok");
        assertThat(n.get("verify").get("ok").asBoolean()).isTrue();
        assertThat(fieldNames(n.get("journal"))).containsExactly("path", "events", "digest");
        assertThat(n.get("journal").get("path").asText()).contains("runs").contains("sim-idle-hint-s1");
        assertThat(n.get("journal").get("events").asLong()).isNotNegative();
    }

    @Test
    void shouldWriteOnlyJsonToStdoutWithDash() throws Exception {
        Cli.Result r = cli.run("run", "--mem", "64M", "--json", "-");

        assertThat(r.exitCode()).isZero();
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertThat(n.get("policy").asText()).isEqualTo("legacy");
        assertThat(r.err()).contains("ballast run: sim").contains("verify");
    }

    @Test
    void shouldExitWith3AndNameTheViolationWhenVerifyFails() throws Exception {
        Path json = dir.resolve("broken.json");

        Cli.Result r = cli.run("run", "--policy", "broken", "--json", json.toString());

        assertThat(r.exitCode()).isEqualTo(ExitCodes.INVARIANT_BROKEN);
        assertThat(r.errLines())
                .containsExactly(
                        "ballast: invariant broken (policy broken, seed 1): invariant 1 (no lost write): pfn 0x1234 in ram-low differs");
        assertThat(r.out()).contains("verify       FAILED");
        assertThat(new ObjectMapper()
                        .readTree(json.toFile())
                        .get("verify")
                        .get("ok")
                        .asBoolean())
                .isFalse();
    }

    @Test
    void shouldUseTheCalibratedProfileWhenThereIsOneAndSaySo() throws Exception {
        CostProfile measured =
                new CostProfile(100, 10, 200, 0.01, 8, 10_000, 40_000_000_000L, 2_000_000, "calibrated on testhost");
        Path file = CostProfiles.defaultPath(cli.env);
        CostProfiles.write(file, measured);

        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios.getFirst().costProfile()).isEqualTo(measured);
        assertThat(r.out()).contains("cost profile: " + file + " (calibrated on testhost)");
    }

    @Test
    void shouldPreferDefaultsWhenAskedEvenIfCalibrated() throws Exception {
        CostProfiles.write(
                CostProfiles.defaultPath(cli.env),
                new CostProfile(100, 10, 200, 0.01, 8, 10_000, 40_000_000_000L, 2_000_000, "calibrated"));

        Cli.Result r = cli.run("run", "--profile", "defaults");

        assertThat(sim.scenarios.getFirst().costProfile()).isEqualTo(CostProfile.defaults());
        assertThat(r.out()).contains("cost profile: built-in defaults");
    }

    @Test
    void shouldReadAProfileFileGivenByName() throws Exception {
        Path file = dir.resolve("p.json");
        CostProfile p = new CostProfile(1, 2, 3, 0.5, 16, 5, 1_000_000, 7, "mine");
        CostProfiles.write(file, p);

        Cli.Result r = cli.run("run", "--profile", file.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios.getFirst().costProfile()).isEqualTo(p);
    }

    @Test
    void shouldRejectAUsersOwnQemuBuildOnBackendsThatRunTheirOwn() {
        Cli.Result r = cli.run("run", "--qemu", "/usr/bin/true");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines())
                .containsExactly(
                        "ballast: --qemu /usr/bin/true: only the qemu backend runs a user's own build; the sim backend runs its own");
        assertThat(sim.scenarios).isEmpty();
    }

    @Test
    void shouldRejectPreallocOutsideAnInProcessKvmRun() {
        Cli.Result sim = cli.run("run", "--prealloc");
        assertThat(sim.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(sim.errLines())
                .containsExactly(
                        "ballast: --prealloc: needs --backend kvm (the simulator's destination allocates nothing)");

        Cli.Result remote = cli.run("run", "--backend", "kvm", "--prealloc", "--dest", "127.0.0.1:9");
        assertThat(remote.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(remote.errLines())
                .containsExactly(
                        "ballast: --prealloc: with --dest, the destination preallocates (ballast dest --prealloc SIZE)");
    }

    @Test
    void shouldRefuseTheDestinationsOptionsWithoutADestination() {
        Cli.Result secret =
                cli.run("run", "--secret-file", dir.resolve("secret").toString());
        assertThat(secret.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(secret.errLines())
                .containsExactly(
                        "ballast: --secret-file: only with --dest (it concerns a `ballast dest` in another process)");
        assertThat(secret.out()).isEmpty();

        Cli.Result timeout = cli.run("run", "--timeout", "5s");
        assertThat(timeout.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(timeout.errLines())
                .containsExactly(
                        "ballast: --timeout: only with --dest (it concerns a `ballast dest` in another process)");
        assertThat(sim.scenarios).isEmpty();
    }

    @Test
    void shouldRejectAMissingProfileFileAsUsage() {
        Cli.Result r = cli.run("run", "--profile", dir.resolve("nope.json").toString());

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: --profile " + dir.resolve("nope.json") + ": no such file");
    }

    @Test
    void shouldFailInOneLineOnADamagedCalibratedProfile() throws Exception {
        Path file = CostProfiles.defaultPath(cli.env);
        Files.createDirectories(file.getParent());
        Files.writeString(file, "{\"zeroCheckNsPerPage\": 1}");

        Cli.Result r = cli.run("run");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err())
                .startsWith("ballast: cost profile " + file + ": not a cost profile")
                .contains("ballast calibrate");
    }

    /**
     * Inputs that were accepted and silently meant something else (10 bit/s, 5 ms, a failure that
     * never comes, a parameter nobody reads, bytes echoed for 1P): refused in one line naming the
     * option as typed and the accepted form, exit 2, nothing on stdout, nothing run.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "--bandwidth 10|--bandwidth 10: a bare number has no unit: write bits or bytes per second, e.g. 10Gbit, 100Mbit or 1250MB/s (0: unlimited)",
                "--bandwidth 100kbit|--bandwidth 100kbit: must be 0 (unlimited) or between 1Mbit and 10Tbit per second",
                "--bandwidth 20Tbit|--bandwidth 20Tbit: must be 0 (unlimited) or between 1Mbit and 10Tbit per second",
                "--downtime 5|--downtime 5: a bare number has no unit: write a time with its unit, e.g. 300ms or 2s",
                "--time-cap 30|--time-cap 30: a bare number has no unit: write a time with its unit, e.g. 300ms or 2s",
                "--fail-at 150%|--fail-at 150%: a percentage of the guest's pages must be in [0%, 100%]; for a failure after more than the guest's memory was sent, write a multiple such as 1.5x",
                "--fail-at 100s --time-cap 10s|--fail-at 100s: past the end of the migration: --time-cap 10s forces stop-and-copy first; give a time before the cap",
                "--workload random-write,bogus=1|--workload random-write,bogus=1: random-write takes no parameter 'bogus' (it takes used, rate, hint-order)",
                "--workload idle:5|--workload idle:5: idle takes no argument after ':' (only balloon:P and deflate-race:P do)",
                "--mem 1P|--mem 1P: the simulator holds at most 2T",
                "--backend kvm --mem 3M|--mem 3M: the KVM backend needs a multiple of 2M",
                "--postcopy-after 0|--postcopy-after 0: must be a pass number >= 1 or auto",
                "--postcopy-after soon|--postcopy-after soon: expected a pass number (1 switches after the bulk stage), auto or off",
                "--postcopy-hints|--postcopy-hints: needs --postcopy-after (there is no postcopy to allow hints with)",
            })
    void shouldRefuseAnInputThatWouldMeanSomethingElseBeforePrintingAnything(String args, String line) {
        Cli.Result r = cli.run(("run " + args).split(" "));

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: " + line);
        assertThat(r.out()).isEmpty();
        assertThat(sim.scenarios).isEmpty();
        assertThat(kvm.scenarios).isEmpty();
    }

    @Test
    void shouldTakeThePostcopySwitchPointAndTheHintsRule() {
        assertThat(cli.run("run", "--postcopy-after", "3").exitCode()).isZero();
        assertThat(cli.run("run", "--postcopy-after", "auto", "--postcopy-hints")
                        .exitCode())
                .isZero();
        assertThat(cli.run("run").exitCode()).isZero();
        assertThat(sim.scenarios).extracting(s -> s.postcopy().toString()).containsExactly("3", "auto+hints", "off");
    }

    @Test
    void shouldTakeAFailureInALaterPassAsAMultipleOfTheGuestsPages() {
        Cli.Result r = cli.run("run", "--fail-at", "1.5x", "--time-cap", "10s");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(sim.scenarios.getFirst().failAt().fractionOfPages()).isEqualTo(1.5);
    }

    /** Balloon skip needs MUST_TELL_HOST; without it the policy skips nothing, and the user is told so, not left to guess. */
    @Test
    void shouldSayThatBalloonSkipIsOffWithoutTellHost() throws Exception {
        Path json = dir.resolve("run.json");

        Cli.Result r =
                cli.run("run", "--policy", "balloon", "--no-tell-host", "--no-journal", "--json", json.toString());

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.errLines())
                .containsExactly("ballast: policy balloon: balloon skip is off: without MUST_TELL_HOST "
                        + "(--no-tell-host) the guest may reuse a deflated page before the host knows, so ballooned pages are scanned "
                        + "and sent like any other");
        assertThat(r.out()).contains("skip off (without MUST_TELL_HOST");
        assertThat(new ObjectMapper()
                        .readTree(json.toFile())
                        .get("balloon")
                        .get("skipOff")
                        .asText())
                .startsWith("without MUST_TELL_HOST (--no-tell-host)");
        Cli.Result told = cli.run("run", "--policy", "balloon", "--no-journal");
        assertThat(told.err()).isEmpty();
    }

    @Test
    void shouldDrawNoProgressWhenStderrIsNotATerminal() {
        Cli.Result r = cli.run("run");

        assertThat(r.err()).doesNotContain("\r");
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
