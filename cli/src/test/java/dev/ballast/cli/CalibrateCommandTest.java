package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.CostProfile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibrateCommandTest {
    @TempDir
    Path dir;

    @Test
    void shouldWriteAProfileThatRunThenUses() throws Exception {
        FakeBackend sim = new FakeBackend("sim");
        Cli cli = new Cli(dir, Backends.of(sim));

        Cli.Result r = cli.run(
                "calibrate",
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

        assertThat(r.exitCode()).as(r.err()).isZero();
        Path file = CostProfiles.defaultPath(cli.env);
        assertThat(r.out())
                .contains(
                        "zero check",
                        "data check",
                        "copy",
                        "bitmap walk",
                        "loopback TCP throughput",
                        "loopback TCP latency",
                        "kept from the defaults",
                        "wrote " + file);
        CostProfile p = CostProfiles.read(file);
        CostProfile d = CostProfile.defaults();
        assertThat(p.zeroCheckNsPerPage()).isPositive();
        assertThat(p.dataCheckNsPerPage()).isPositive();
        assertThat(p.copyNsPerPage()).isPositive();
        assertThat(p.scanNsPerPage()).isPositive();
        assertThat(p.linkBitsPerSec()).isPositive();
        assertThat(p.linkLatencyNs()).isPositive();
        assertThat(p.pageHeaderBytes()).isEqualTo(d.pageHeaderBytes());
        assertThat(p.syncNsPerGiB()).isEqualTo(d.syncNsPerGiB());
        assertThat(p.source()).startsWith("calibrated on ");

        assertThat(cli.run("run").exitCode()).isZero();
        assertThat(sim.scenarios.getFirst().costProfile()).isEqualTo(p);
    }

    @Test
    void shouldWriteWhereOutSays() throws Exception {
        Path out = dir.resolve("x/profile.json");
        Cli cli = new Cli(dir.resolve("config"), Backends.of());

        Cli.Result r = cli.run(
                "calibrate",
                "--out",
                out.toString(),
                "--working-set",
                "1M",
                "--passes",
                "1",
                "--tcp-bytes",
                "1M",
                "--tcp-round-trips",
                "5",
                "--bitmap-pages",
                "4096");

        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(CostProfiles.read(out).source()).startsWith("calibrated on ");
        assertThat(CostProfiles.defaultPath(cli.env)).doesNotExist();
    }

    @Test
    void shouldRejectATinyWorkingSet() {
        Cli.Result r = new Cli(dir, Backends.of()).run("calibrate", "--working-set", "4K");

        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: --working-set 4K: must be at least 1M and whole pages");
    }
}
