package dev.ballast.kvm.guestabi;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.mem.GuestLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** What the host writes into a fresh system slot, read back as the CPU and the guest would. */
class SystemSlotTest {
    private static final long GIB = GuestLayout.GIB;

    /** Walks the slot's page tables for a guest virtual address; returns the physical address or -1. */
    private static long translate(MemorySegment sys, long va) {
        long table = GuestAbi.SYS_GPA + GuestLayout.PT_PML4;
        int[] shifts = {39, 30, 21};
        for (int level = 0; level < 3; level++) {
            long entry = sys.get(JAVA_LONG, table - GuestAbi.SYS_GPA + 8 * ((va >>> shifts[level]) & 511));
            if ((entry & SystemSlot.PTE_P) == 0 || (entry & SystemSlot.PTE_US) == 0) {
                return -1;
            }
            if (level == 2) {
                assertThat(entry & SystemSlot.PTE_PS).isNotZero();
                return (entry & ~0x1FFFFFL & ((1L << 52) - 1)) | (va & 0x1FFFFF);
            }
            table = entry & ~0xFFFL;
        }
        return -1;
    }

    @Test
    void shouldIdentityMapRamAndTheSystemSlotButNotTheHole() {
        GuestLayout layout = GuestLayout.forRam(5 * GIB);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sys = arena.allocate(layout.systemBytes(), 4096);
            SystemSlot.install(sys, layout, GuestImage.load(), 1000);
            assertThat(translate(sys, 0)).isEqualTo(0);
            assertThat(translate(sys, 3 * GIB - 4096 + 123)).isEqualTo(3 * GIB - 4096 + 123);
            assertThat(translate(sys, 3 * GIB)).isEqualTo(-1); // the hole
            assertThat(translate(sys, 4 * GIB - 1)).isEqualTo(-1);
            assertThat(translate(sys, 4 * GIB)).isEqualTo(4 * GIB);
            assertThat(translate(sys, 6 * GIB - 1)).isEqualTo(6 * GIB - 1);
            assertThat(translate(sys, 6 * GIB)).isEqualTo(-1); // past RAM
            assertThat(translate(sys, GuestAbi.SYS_GPA)).isEqualTo(GuestAbi.SYS_GPA);
            long lastSys = GuestAbi.SYS_GPA + layout.systemBytes() - 1;
            assertThat(translate(sys, lastSys)).isEqualTo(lastSys);
            assertThat(translate(sys, lastSys + 1)).isEqualTo(-1);
        }
    }

    @Test
    void shouldOpenExactlyTheGuestsPortsInTheTssBitmap() {
        GuestLayout layout = GuestLayout.forRam(64 * GuestLayout.MIB);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sys = arena.allocate(layout.systemBytes(), 4096);
            SystemSlot.install(sys, layout, GuestImage.load(), 1000);
            int tss = SystemSlot.TSS_OFF;
            assertThat(tss + SystemSlot.TSS_LIMIT + 1).isLessThanOrEqualTo(GuestAbi.SYS_IMAGE_OFF);
            int base = Short.toUnsignedInt(sys.get(JAVA_SHORT, tss + 0x66));
            for (int port = 0; port < 65536; port++) {
                boolean open = (sys.get(JAVA_BYTE, tss + base + port / 8) & (1 << (port % 8))) == 0;
                assertThat(open)
                        .as("port 0x%x", port)
                        .isEqualTo(port >= GuestAbi.PORT_DOORBELL && port <= GuestAbi.PORT_NOP);
            }
            assertThat(sys.get(JAVA_BYTE, tss + base + 8192)).isEqualTo((byte) 0xFF);
        }
    }

    @Test
    void shouldDescribeTheRamBlocksAndRingsInTheControlBlock() {
        GuestLayout layout = GuestLayout.forRam(5 * GIB);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sys = arena.allocate(layout.systemBytes(), 4096);
            SystemSlot.install(sys, layout, GuestImage.load(), 1234);
            assertThat(sys.get(JAVA_LONG, GuestAbi.CTL_MAGIC_OFF)).isEqualTo(GuestAbi.CTL_MAGIC);
            assertThat(sys.get(JAVA_INT, GuestAbi.CTL_NBLOCKS_OFF)).isEqualTo(2);
            assertThat(sys.get(JAVA_LONG, GuestAbi.CTL_BLOCKS_OFF + 16)).isEqualTo(4 * GIB);
            assertThat(sys.get(JAVA_LONG, GuestAbi.CTL_BLOCKS_OFF + 24)).isEqualTo(2 * GIB / 4096);
            assertThat(sys.get(JAVA_LONG, GuestAbi.CTL_TOTAL_PAGES_OFF)).isEqualTo(5 * GIB / 4096);
            assertThat(sys.get(JAVA_LONG, GuestAbi.CTL_IDLE_SPINS_OFF)).isEqualTo(1234);
            assertThat(new Ring(sys.asSlice(GuestAbi.SYS_CMD_RING_OFF)).valid()).isTrue();
            assertThat(new Ring(sys.asSlice(GuestAbi.SYS_REPLY_RING_OFF)).isEmpty())
                    .isTrue();
        }
    }
}
