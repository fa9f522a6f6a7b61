package dev.ballast.kvm.machine;

import static dev.ballast.kvm.guestabi.GuestAbi.OP_WRITE_PAGES;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.guestabi.PageStamp;
import dev.ballast.kvm.mem.DirtyLogMode;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.testing.KvmTests;
import java.util.BitSet;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The dirty log reports exactly the pages written, by the guest or by the host. */
class DirtyLogTest {
    private static BitSet bits(long[] words) {
        return BitSet.valueOf(words);
    }

    private static void syncAll(KvmMachine m) {
        for (MemorySlot b : m.memory().allBlocks()) {
            m.memory().syncDirtyLog(b);
        }
    }

    private static BitSet of(int... pages) {
        BitSet b = new BitSet();
        for (int p : pages) {
            b.set(p);
        }
        return b;
    }

    /**
     * What the engine relies on when it re-arms a range just before reading it to send: a write
     * before the re-arm is forgotten (it is in what is read), a write after it is in the next
     * sync, pages outside the range keep their bits (ranges need not be 64-page aligned), host
     * marks in the range go too, and given-back ranges come back.
     */
    @ParameterizedTest
    @EnumSource(DirtyLogMode.class)
    void shouldForgetWritesBeforeARearmAndReportWritesAfterIt(DirtyLogMode mode) throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(
                        kvm, MachineConfig.ofRam(64 * GuestLayout.MIB).withDirtyLogMode(mode))) {
            m.boot();
            MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
            m.channel().call(dev.ballast.kvm.guestabi.GuestAbi.OP_NOP);
            syncAll(m);
            m.channel().call(OP_WRITE_PAGES, 100, 10, 1);
            for (long pfn : new long[] {59, 60, 69, 70}) {
                m.channel().call(OP_WRITE_PAGES, pfn, 1, 1);
            }
            m.memory().markHostWrite(ram, 65 * 4096L, 8);
            m.memory().rearmDirty(ram, 100, 5);
            m.memory().rearmDirty(ram, 60, 10);
            m.channel().call(OP_WRITE_PAGES, 102, 1, 1);
            m.channel().call(OP_WRITE_PAGES, 50, 1, 1);
            assertThat(bits(m.memory().syncDirtyLog(ram))).isEqualTo(of(50, 59, 70, 102, 105, 106, 107, 108, 109));

            m.memory().restoreDirty(ram, 200, 3);
            assertThat(bits(m.memory().syncDirtyLog(ram))).isEqualTo(of(200, 201, 202));
            assertThat(bits(m.memory().syncDirtyLog(ram)).isEmpty()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(DirtyLogMode.class)
    void shouldReportExactlyThePagesTheGuestWasAskedToWrite(DirtyLogMode mode) throws Exception {
        KvmTests.assumeKvm();
        long seed = System.nanoTime();
        System.out.println("DirtyLogTest seed " + seed + " mode " + mode);
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(
                        kvm, MachineConfig.ofRam(128 * GuestLayout.MIB).withDirtyLogMode(mode))) {
            m.boot();
            MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
            Random random = new Random(seed);
            for (int round = 0; round < 3; round++) {
                m.channel().call(dev.ballast.kvm.guestabi.GuestAbi.OP_NOP); // the guest is up
                syncAll(m);
                TreeSet<Long> asked = new TreeSet<>();
                while (asked.size() < 300) {
                    asked.add((long) random.nextInt((int) ram.pages()));
                }
                for (long pfn : asked) {
                    assertThat(m.channel().call(OP_WRITE_PAGES, pfn, 1, 1).arg(0))
                            .isEqualTo(1);
                }
                BitSet expected = new BitSet();
                asked.forEach(p -> expected.set(p.intValue()));
                assertThat(bits(m.memory().syncDirtyLog(ram)))
                        .as("seed " + seed + " round " + round)
                        .isEqualTo(expected);
                assertThat(bits(m.memory().syncDirtyLog(ram)).isEmpty())
                        .as("a second read right after is empty")
                        .isTrue();
                for (long pfn : asked) {
                    assertThat(PageStamp.versionOf(ram.page(pfn), pfn))
                            .as("pfn " + pfn)
                            .isPositive();
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DirtyLogMode.class)
    void shouldTrackBothBlocksOfAGuestOver3GiB(DirtyLogMode mode) throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(
                        kvm,
                        MachineConfig.ofRam(3 * GuestLayout.GIB + 64 * GuestLayout.MIB)
                                .withDirtyLogMode(mode))) {
            m.boot();
            m.channel().call(dev.ballast.kvm.guestabi.GuestAbi.OP_NOP);
            syncAll(m);
            MemorySlot low = m.memory().block(GuestLayout.RAM_LOW);
            MemorySlot high = m.memory().block(GuestLayout.RAM_HIGH);
            assertThat(high.gpa()).isEqualTo(4 * GuestLayout.GIB);
            long lastLow = low.firstPfn() + low.pages() - 1;
            m.channel().call(OP_WRITE_PAGES, lastLow, 1, 1);
            m.channel().call(OP_WRITE_PAGES, high.firstPfn() + 5, 3, 7);
            assertThat(bits(m.memory().syncDirtyLog(low)).stream().boxed().toList())
                    .containsExactly((int) low.pages() - 1);
            assertThat(bits(m.memory().syncDirtyLog(high)).stream().boxed().toList())
                    .containsExactly(5, 12, 19);
            // the hole is not RAM
            long hole = 3 * GuestLayout.GIB / 4096;
            assertThat(m.channel().call(OP_WRITE_PAGES, hole, 1, 1).status())
                    .isEqualTo(dev.ballast.kvm.guestabi.GuestAbi.ST_BAD_RANGE);
        }
    }

    @ParameterizedTest
    @EnumSource(DirtyLogMode.class)
    void shouldOrTheHostsOwnWritesIntoTheLog(DirtyLogMode mode) throws Exception {
        KvmTests.assumeKvm();
        try (Kvm kvm = Kvm.open();
                KvmMachine m = KvmMachine.create(
                        kvm, MachineConfig.ofRam(64 * GuestLayout.MIB).withDirtyLogMode(mode))) {
            m.boot();
            m.channel().call(dev.ballast.kvm.guestabi.GuestAbi.OP_NOP);
            m.pause();
            syncAll(m);
            MemorySlot ram = m.memory().block(GuestLayout.RAM_LOW);
            PageStamp.stamp(ram.page(77), 77, 1);
            m.memory().markHostWrite(ram, 77 * 4096L, 4096);
            assertThat(bits(m.memory().syncDirtyLog(ram)).stream().boxed().toList())
                    .containsExactly(77);
            // a command posted by the host dirties the command ring's pages in the system slot
            MemorySlot sys = m.memory().system();
            m.memory().syncDirtyLog(sys);
            m.channel().submit(dev.ballast.kvm.guestabi.GuestAbi.OP_NOP);
            assertThat(bits(m.memory().syncDirtyLog(sys)).isEmpty()).isFalse();
            m.resume();
        }
    }
}
