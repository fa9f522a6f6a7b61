package dev.ballast.kvm.mem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.machine.KvmMachine;
import dev.ballast.kvm.machine.MachineConfig;
import dev.ballast.kvm.testing.KvmTests;
import dev.ballast.kvm.testing.Rss;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    @Test
    void shouldGiveDiscardedPagesBackToTheHost() throws Exception {
        KvmTests.assumeKvm();
        long written = 128 * GuestLayout.MIB;
        long pages = written / GuestAbi.PAGE_SIZE;
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(kvm, MachineConfig.ofRam(256 * GuestLayout.MIB))) {
            m.boot();
            assertThat(m.channel().call(GuestAbi.OP_WRITE_PAGES, 0, pages, 1).arg(0))
                    .isEqualTo(pages);
            long before = Rss.bytes();
            long residentBefore = m.memory().residentRamPages();
            MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
            m.memory().discard(ram, 0, written);
            long after = Rss.bytes();
            long residentAfter = m.memory().residentRamPages();
            assertThat(residentBefore).as("resident RAM pages, written").isBetween(pages, pages + 64);
            assertThat(residentBefore - residentAfter)
                    .as("resident RAM pages discarded")
                    .isEqualTo(pages);
            System.out.printf(
                    "RSS %d MiB -> %d MiB after discarding %d MiB of guest RAM%n",
                    before >> 20, after >> 20, written >> 20);
            assertThat(before - after).isGreaterThan(written * 9 / 10);
            // the guest sees zero pages now, and its self-check says so
            Reply r = m.channel().call(GuestAbi.OP_VERIFY_PAGES, 0, pages, 1);
            assertThat(r.arg(0)).isEqualTo(pages);
            assertThat(r.arg(1)).isEqualTo(pages);
            assertThat(r.arg(2)).isZero(); // first bad pfn
        }
    }

    @Test
    void shouldAllocateEveryPageWhenPopulatedAndLeaveItZero() {
        KvmTests.assumeKvm();
        long ram = 128 * GuestLayout.MIB;
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(kvm, MachineConfig.ofRam(ram))) {
            long before = Rss.bytes();
            m.memory().populate();
            long after = Rss.bytes();
            System.out.printf(
                    "RSS %d MiB -> %d MiB after populating a %d MiB guest%n", before >> 20, after >> 20, ram >> 20);
            assertThat(after - before).isGreaterThanOrEqualTo(ram);
            for (MemorySlot b : m.memory().allBlocks()) {
                assertThat(b.host().mismatch(java.lang.foreign.MemorySegment.ofArray(new byte[(int) b.bytes()])))
                        .as(b.name())
                        .isEqualTo(-1);
            }
        }
    }

    @Test
    void shouldRejectADiscardThatIsNotPageAlignedOrPastTheBlock() {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(kvm, MachineConfig.ofRam(4 * GuestLayout.MIB))) {
            MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
            assertThatThrownBy(() -> m.memory().discard(ram, 100, 4096)).hasMessageContaining("offset=100");
            assertThatThrownBy(() -> m.memory().discard(ram, 0, 8 * GuestLayout.MIB))
                    .hasMessageContaining("past the block");
        }
    }
}
