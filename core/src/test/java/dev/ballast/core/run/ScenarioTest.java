package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ScenarioTest {
    @Test
    void shouldParseWorkloadsWithArgumentsAndParameters() {
        WorkloadSpec w = WorkloadSpec.parse("balloon:12.5,used=30%,rate=2MiB/s");
        assertThat(w.name()).isEqualTo("balloon");
        assertThat(w.arg()).isEqualTo("12.5");
        assertThat(w.param("used", "x")).isEqualTo("30%");
        assertThat(w.param("missing", "d")).isEqualTo("d");
        assertThat(w).hasToString("balloon:12.5,used=30%,rate=2MiB/s");
    }

    @Test
    void shouldNameTheBadSettingInItsMessage() {
        assertThatThrownBy(() -> WorkloadSpec.parse("hog")).hasMessageStartingWith("workload=hog: unknown workload");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,rate")).hasMessageContaining("not key=value");
        Scenario s = Scenario.sim(1L << 30, "idle", "legacy", 1);
        assertThatThrownBy(() -> s.withGuest(0, true, "pfn", 0x7FFF_FFFFL))
                .hasMessageStartingWith("hint-start-id=0x7fffffff");
        assertThatThrownBy(() -> s.withFailAt("soon")).hasMessageStartingWith("fail-at=soon");
        assertThatThrownBy(() -> s.withChain(0)).hasMessageStartingWith("chain=0");
        assertThatThrownBy(() -> Scenario.sim(1000, "idle", "legacy", 1)).hasMessageStartingWith("mem=1000");
    }

    @Test
    void shouldParseFailPoints() {
        assertThat(FailPoint.parse("40%").fractionOfPages()).isEqualTo(0.4);
        assertThat(FailPoint.parse("250ms").atNs()).isEqualTo(250_000_000L);
        assertThat(FailPoint.parse("random").random()).isTrue();
    }

    @Test
    void shouldKeepItsPostcopyThroughEveryChangeAndInTheJournalHeader() {
        dev.ballast.core.engine.Postcopy p =
                dev.ballast.core.engine.Postcopy.parse("2").withHints(true);
        Scenario s = Scenario.sim(1L << 30, "idle", "hint", 1).withPostcopy(p);
        assertThat(s.withPolicy("legacy")
                        .withSeed(2)
                        .withFailAt("40%")
                        .withChain(2)
                        .withGuest(0, true, "pfn", 0x8000_0000L)
                        .withLimits(0, 1, 1, 0)
                        .withCostProfile(CostProfile.defaults())
                        .postcopy())
                .isEqualTo(p);
        assertThat(Scenario.sim(1L << 30, "idle", "hint", 1).postcopy())
                .isEqualTo(dev.ballast.core.engine.Postcopy.OFF);
        RunManifest m = RunManifest.fromMetadata(RunManifest.of(s).toMetadata());
        assertThat(m.postcopy()).isEqualTo(p);
        assertThat(RunManifest.fromMetadata(RunManifest.of(s.withPostcopy(dev.ballast.core.engine.Postcopy.OFF))
                                .toMetadata())
                        .postcopy())
                .isEqualTo(dev.ballast.core.engine.Postcopy.OFF);
    }

    @Test
    void shouldRefuseAnOperatingSystemLargerThanTheGuest() {
        // a 256 MiB guest: os and os-reserved must fit in it, as must min-free (once an internal error: a range of
        // a bitmap at -65536)
        assertThatThrownBy(() -> Scenario.sim(256L << 20, "idle,os=512M,os-top=512M", "legacy", 1))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("os=512M and os-reserved=0 hold 512.0 MiB, more than the guest's 256.0 MiB");
        assertThatThrownBy(() -> Scenario.sim(256L << 20, "idle,os=100M,os-reserved=200M", "legacy", 1))
                .hasMessageContaining("hold 300.0 MiB, more than the guest's 256.0 MiB");
        assertThatThrownBy(() -> Scenario.sim(256L << 20, "idle,min-free=1G", "legacy", 1))
                .hasMessageContaining("min-free=1G: more than the guest's 256.0 MiB");
        assertThat(Scenario.sim(256L << 20, "idle,os=64M,os-top=16M,os-reserved=64M,min-free=16M", "legacy", 1)
                        .workload()
                        .osBytes())
                .isEqualTo(64L << 20);
    }

    @Test
    void shouldTakeTheCapLiftedForTheStopFromTheWorkloadAndKeepItInTheJournalHeader() {
        Scenario qemuLike = Scenario.sim(1L << 30, "idle,stop-uncapped=1", "legacy", 1);
        assertThat(qemuLike.engineConfig().uncappedStop()).isTrue();
        java.util.Map<String, String> header = RunManifest.of(qemuLike).toMetadata();
        assertThat(header.get(RunManifest.KEY_ENGINE)).contains(",uncappedStop=true");
        assertThat(RunManifest.fromMetadata(header).engine().uncappedStop()).isTrue();
        // a header written before the option, or without it: the cap holds to the end
        java.util.Map<String, String> plain =
                RunManifest.of(Scenario.sim(1L << 30, "idle", "legacy", 1)).toMetadata();
        assertThat(plain.get(RunManifest.KEY_ENGINE)).doesNotContain("uncappedStop");
        assertThat(RunManifest.fromMetadata(plain).engine().uncappedStop()).isFalse();
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,stop-uncapped=2"))
                .hasMessageContaining("stop-uncapped=2: expected 0 or 1");
    }

    @Test
    void shouldTakeTheSyncBeforeTheStopFromTheWorkloadAndKeepItInTheJournalHeader() {
        Scenario qemuLike = Scenario.sim(1L << 30, "idle,dirty-log=sync,sync-before-stop=1", "hint", 1);
        assertThat(qemuLike.engineConfig().syncBeforeStop()).isTrue();
        assertThat(Scenario.sim(1L << 30, "idle", "hint", 1).engineConfig().syncBeforeStop())
                .isFalse();
        java.util.Map<String, String> header = RunManifest.of(qemuLike).toMetadata();
        assertThat(header.get(RunManifest.KEY_ENGINE)).contains(",syncBeforeStop=true");
        assertThat(RunManifest.fromMetadata(header).engine().syncBeforeStop()).isTrue();
        // a header written before the option, or without it: the engine syncs at the end of each pass only
        java.util.Map<String, String> plain =
                RunManifest.of(Scenario.sim(1L << 30, "idle", "hint", 1)).toMetadata();
        assertThat(plain.get(RunManifest.KEY_ENGINE)).doesNotContain("syncBeforeStop");
        assertThat(RunManifest.fromMetadata(plain).engine().syncBeforeStop()).isFalse();
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,sync-before-stop=yes"))
                .hasMessageContaining("sync-before-stop=yes: expected 0 or 1");
        assertThatThrownBy(() -> new Scenario(
                        "kvm",
                        1L << 30,
                        WorkloadSpec.parse("idle,sync-before-stop=1"),
                        "hint",
                        1,
                        0,
                        2_000_000_000L,
                        30,
                        0,
                        1,
                        null,
                        0,
                        true,
                        BalloonMessages.PFN,
                        Scenario.MIN_COMMAND_ID,
                        CostProfile.defaults()))
                .hasMessageContaining("sync-before-stop is the simulated guest's");
    }
}
