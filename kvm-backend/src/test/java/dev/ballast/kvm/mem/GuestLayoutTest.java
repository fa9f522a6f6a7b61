package dev.ballast.kvm.mem;

import static dev.ballast.kvm.mem.GuestLayout.GIB;
import static dev.ballast.kvm.mem.GuestLayout.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.kvm.guestabi.GuestAbi;
import org.junit.jupiter.api.Test;

class GuestLayoutTest {
    @Test
    void shouldUseOneLowBlockUpTo3GiB() {
        GuestLayout l = GuestLayout.forRam(3 * GIB);
        assertThat(l.ramBlocks()).containsExactly(new GuestLayout.BlockSpec("ram-low", 0, 3 * GIB));
        assertThat(l.ramGibSpan()).isEqualTo(3);
    }

    @Test
    void shouldSplitAroundTheHoleAbove3GiB() {
        GuestLayout l = GuestLayout.forRam(8 * GIB);
        assertThat(l.ramBlocks())
                .containsExactly(
                        new GuestLayout.BlockSpec("ram-low", 0, 3 * GIB),
                        new GuestLayout.BlockSpec("ram-high", 4 * GIB, 5 * GIB));
        assertThat(l.ramGibSpan()).isEqualTo(9);
        assertThat(l.ramBlockOfPfn(3 * GIB / 4096)).isNull(); // the hole
        assertThat(l.ramBlockOfPfn(4 * GIB / 4096).name()).isEqualTo("ram-high");
        assertThat(l.ramBlockOfPfn(9 * GIB / 4096)).isNull(); // past the end
    }

    @Test
    void shouldSizeTheSystemSlotForPageTablesAndVersionTable() {
        GuestLayout l = GuestLayout.forRam(8 * GIB);
        assertThat(l.versionTableOffset()).isEqualTo(GuestAbi.SYS_PT_OFF + (4 + 9) * 4096L);
        assertThat(l.systemBytes() % (2 * MIB)).isZero();
        assertThat(l.systemBytes()).isGreaterThanOrEqualTo(l.versionTableOffset() + 8 * GIB / 4096 * 4);
        assertThat(l.allBlocks().getLast().gpa()).isEqualTo(GuestAbi.SYS_GPA);
    }

    @Test
    void shouldRejectSizesThatAreNotWholeHugePagesOrTooLarge() {
        assertThatThrownBy(() -> GuestLayout.forRam(3 * MIB)).hasMessageContaining("multiple of 2 MiB");
        assertThatThrownBy(() -> GuestLayout.forRam(0)).hasMessageContaining("multiple of 2 MiB");
        assertThatThrownBy(() -> GuestLayout.forRam(600 * GIB)).hasMessageContaining("512 GiB");
    }
}
