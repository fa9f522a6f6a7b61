package dev.ballast.kvm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.WorkloadSpec;
import dev.ballast.kvm.guestabi.GuestAbi;
import org.junit.jupiter.api.Test;

/** The guest kernel's workload keys as the guest program's settings (no KVM needed). */
class WorkloadSettingsKernelTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(1L << 30);

    private static long[] wl(String spec) {
        return WorkloadSettings.of(WorkloadSpec.parse(spec), new GuestFeatures(true, true, true, 0), false, LAYOUT, 1);
    }

    @Test
    void shouldRunTheIdealisedDriverUnlessTheWorkloadNamesOne() {
        long driver = GuestAbi.WF_LINUX_HINTS | GuestAbi.WF_HINTS_ACKED;
        assertThat(wl("idle")[GuestAbi.WL_FLAGS] & driver).isZero();
        assertThat(wl("idle,hint-driver=ideal")[GuestAbi.WL_FLAGS] & driver).isZero();
        assertThat(wl("idle,hint-driver=linux")[GuestAbi.WL_FLAGS] & driver).isEqualTo(GuestAbi.WF_LINUX_HINTS);
        assertThat(wl("idle,hint-driver=linux-acked")[GuestAbi.WL_FLAGS] & driver)
                .isEqualTo(driver);
    }

    @Test
    void shouldPassZeroingPressureAndDeflateOnOom() {
        long[] w = wl("memhog,init-on-alloc=1,pressure=30%,deflate-on-oom=1");
        assertThat(w[GuestAbi.WL_FLAGS] & GuestAbi.WF_INIT_ON_ALLOC).isNotZero();
        assertThat(w[GuestAbi.WL_FLAGS] & GuestAbi.WF_DEFLATE_ON_OOM).isNotZero();
        assertThat(w[GuestAbi.WL_PRESSURE_PAGES]).isEqualTo(262144L * 30 / 100);
        long[] none = wl("memhog");
        assertThat(none[GuestAbi.WL_FLAGS] & (GuestAbi.WF_INIT_ON_ALLOC | GuestAbi.WF_DEFLATE_ON_OOM))
                .isZero();
        assertThat(none[GuestAbi.WL_PRESSURE_PAGES]).isZero();
    }
}
