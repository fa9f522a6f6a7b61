package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The simulated guest's kernel settings, taken by every workload. */
class WorkloadSpecTest {
    @Test
    void shouldDefaultToLinuxsDriverWithoutZeroingPressureOrDeflateOnOom() {
        WorkloadSpec w = WorkloadSpec.parse("idle");
        assertThat(w.hintDriver()).isEqualTo(HintDriver.LINUX);
        assertThat(w.initOnAlloc()).isFalse();
        assertThat(w.deflateOnOom()).isFalse();
        assertThat(w.pressurePercent()).isZero();
    }

    @Test
    void shouldTakeTheGuestsSettingsOnEveryWorkload() {
        for (String name : WorkloadSpec.NAMES) {
            String arg = WorkloadSpec.WITH_ARGUMENT.contains(name) ? ":50" : "";
            WorkloadSpec w = WorkloadSpec.parse(
                    name + arg + ",hint-driver=linux-acked,init-on-alloc=1,pressure=30%,deflate-on-oom=1");
            assertThat(w.hintDriver()).isEqualTo(HintDriver.LINUX_ACKED);
            assertThat(w.hintDriver().toString()).isEqualTo("linux-acked");
            assertThat(w.initOnAlloc()).isTrue();
            assertThat(w.deflateOnOom()).isTrue();
            assertThat(w.pressurePercent()).isEqualTo(30.0);
        }
        assertThat(WorkloadSpec.parse("memhog,hint-driver=ideal").hintDriver()).isEqualTo(HintDriver.IDEAL);
    }

    @Test
    void shouldRefuseBadValuesNamingTheWorkloadAndTheRule() {
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,hint-driver=freebsd"))
                .isInstanceOf(SettingException.class)
                .hasMessage(
                        "workload=idle,hint-driver=freebsd: hint-driver=freebsd: expected linux (the driver Linux ships), "
                                + "linux-acked (its shrinker waits for the host) or ideal");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,init-on-alloc=yes"))
                .hasMessage("workload=idle,init-on-alloc=yes: init-on-alloc=yes: expected 0 or 1");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,pressure=120%"))
                .hasMessage("workload=idle,pressure=120%: pressure=120%: expected a percentage of RAM in [0, 100]");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,pressure=lots"))
                .hasMessage("workload=idle,pressure=lots: pressure=lots: expected a percentage of RAM in [0, 100]");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,dirty-log=tcg"))
                .hasMessage("workload=idle,dirty-log=tcg: dirty-log=tcg: expected manual or sync");
        assertThat(WorkloadSpec.parse("idle,dirty-log=sync").dirtyLogSyncOnly()).isTrue();
        assertThat(WorkloadSpec.parse("idle").dirtyLogSyncOnly()).isFalse();
        assertThat(WorkloadSpec.parse("memhog,os=84M").osBytes()).isEqualTo(84L << 20);
        assertThat(WorkloadSpec.parse("idle").osBytes()).isZero();
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,os=big"))
                .hasMessage("workload=idle,os=big: os=big: expected a size (84M)");
    }

    @Test
    void shouldRefuseTheSimulatedGuestsSettingsOnAnotherBackend() {
        Scenario sim = Scenario.sim(1L << 30, "idle,pressure=20%", "hint", 1);
        assertThat(sim.workload().pressurePercent()).isEqualTo(20.0);
        assertThatThrownBy(() -> new Scenario(
                        "kvm",
                        1L << 30,
                        WorkloadSpec.parse("idle,dirty-log=sync"),
                        "hint",
                        1,
                        0,
                        300_000_000L,
                        30,
                        0,
                        1,
                        null,
                        0,
                        true,
                        BalloonMessages.PFN,
                        Scenario.MIN_COMMAND_ID,
                        CostProfile.defaults()))
                .isInstanceOf(SettingException.class)
                .hasMessage(
                        "workload=idle,dirty-log=sync: dirty-log is the simulated guest's; the kvm guest runs its own drivers");
    }

    /** Since the KVM guest runs Linux's hint driver, memory pressure and the host's hint runs, it takes their keys. */
    @Test
    void shouldLetTheKvmGuestRunLinuxsHintDriverUnderPressureButNoOtherBackend() {
        String w = "idle,hint-driver=linux-acked,init-on-alloc=1,pressure=30%,deflate-on-oom=1,hint-run=1";
        for (String backend : new String[] {"kvm", "qemu"}) {
            java.util.function.Supplier<Scenario> make = () -> new Scenario(
                    backend,
                    1L << 30,
                    WorkloadSpec.parse(w),
                    "hint",
                    1,
                    0,
                    300_000_000L,
                    30,
                    0,
                    1,
                    null,
                    0,
                    true,
                    BalloonMessages.PFN,
                    Scenario.MIN_COMMAND_ID,
                    CostProfile.defaults());
            if (backend.equals("kvm")) {
                assertThat(make.get().workload().pressurePercent()).isEqualTo(30.0);
            } else {
                assertThatThrownBy(make::get)
                        .isInstanceOf(SettingException.class)
                        .hasMessage(
                                "workload=" + w
                                        + ": hint-driver runs on the simulated and KVM guests; the qemu guest runs its own drivers");
            }
        }
    }

    @Test
    void shouldLetTheKvmGuestReportFreePagesButNoOtherBackend() {
        for (String backend : new String[] {"kvm", "qemu"}) {
            java.util.function.Supplier<Scenario> make = () -> new Scenario(
                    backend,
                    1L << 30,
                    WorkloadSpec.parse("idle,reporting=1,discard-poisoned=1"),
                    "hint",
                    1,
                    0,
                    300_000_000L,
                    30,
                    0,
                    1,
                    null,
                    0,
                    true,
                    BalloonMessages.PFN,
                    Scenario.MIN_COMMAND_ID,
                    CostProfile.defaults());
            if (backend.equals("kvm")) {
                assertThat(make.get().workload().reporting()).isTrue();
                assertThat(make.get().workload().discardPoisoned()).isTrue();
            } else {
                assertThatThrownBy(make::get)
                        .hasMessage("workload=idle,reporting=1,discard-poisoned=1: reporting runs on the simulated"
                                + " and KVM guests; the qemu guest runs its own drivers");
            }
        }
    }
}
