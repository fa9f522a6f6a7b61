package dev.ballast.kvm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.mem.GuestLayout;
import dev.ballast.kvm.mem.MemorySlot;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The vCPU state saved from one VM continues the guest program in a second VM that received its memory. */
class MigrationTest {
    /** Copies every block (RAM and system slot); {@code skipPfn} (or -1) is left zero, as if never sent. */
    private static void copyMemory(KvmMachine from, KvmMachine to, long skipPfn) {
        for (MemorySlot src : from.memory().allBlocks()) {
            MemorySlot dst = to.memory().block(src.name());
            dst.host().copyFrom(src.host());
            if (src.containsPfn(skipPfn)) {
                dst.page(skipPfn).fill((byte) 0); // a page that "was not sent"
            }
        }
    }

    private Set<Long> writeRandomPages(KvmMachine m, long seed) throws Exception {
        Random random = new Random(seed);
        Set<Long> written = new HashSet<>();
        long pages = m.layout().ramPages();
        for (int i = 0; i < 400; i++) {
            long pfn = random.nextInt((int) pages);
            m.channel().call(GuestAbi.OP_WRITE_PAGES, pfn, 1 + random.nextInt(3), 1 + random.nextInt(5));
        }
        for (long pfn = 0; pfn < pages; pfn++) {
            if (m.channel().call(GuestAbi.OP_READ_VERSION, pfn).arg(0) != 0) {
                written.add(pfn);
            }
        }
        return written;
    }

    @Test
    void shouldContinueTheGuestInASecondVmThatHasItsMemoryAndState() throws Exception {
        KvmTests.assumeKvm();
        long seed = System.nanoTime();
        System.out.println("MigrationTest seed " + seed);
        MachineConfig config = MachineConfig.ofRam(32 * GuestLayout.MIB);
        try (Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, config);
                KvmMachine dest = KvmMachine.create(kvm, config)) {
            source.boot();
            Set<Long> written = writeRandomPages(source, seed);
            // stop the source in the middle of a command: a loop with no exits
            long token = 0xC0FFEE;
            long spinId = source.channel().submit(GuestAbi.OP_SPIN, token);
            while (source.channel().control(GuestAbi.CTL_SPIN_COUNTER_OFF) == 0) {
                Thread.sleep(1);
            }
            source.pause();
            long spunOnSource = source.channel().control(GuestAbi.CTL_SPIN_COUNTER_OFF);
            VcpuState state = source.saveState();

            copyMemory(source, dest, -1);
            dest.start(state);
            dest.channel().stopSpin(token);
            Reply spin = dest.channel().await(spinId, Duration.ofSeconds(10));
            assertThat(spin.ok()).isTrue();
            assertThat(spin.arg(0))
                    .as("the destination finished the loop the source started")
                    .isGreaterThanOrEqualTo(spunOnSource);

            Reply check = dest.channel().call(GuestAbi.OP_VERIFY_ALL);
            assertThat(check.arg(0)).as("pages checked, seed " + seed).isEqualTo(written.size());
            assertThat(check.arg(1)).as("bad pages, seed " + seed).isZero();
            // and it goes on: new writes on the destination verify too
            dest.channel().call(GuestAbi.OP_WRITE_PAGES, 3, 10, 1);
            Reply again = dest.channel().call(GuestAbi.OP_VERIFY_PAGES, 3, 10, 1);
            assertThat(again.arg(0)).isEqualTo(10);
            assertThat(again.arg(1)).isZero();
        }
    }

    @Test
    void shouldLetTheGuestFindAPageThatWasNotCopied() throws Exception {
        KvmTests.assumeKvm();
        long pfn = 100;
        MachineConfig config = MachineConfig.ofRam(32 * GuestLayout.MIB);
        try (Kvm kvm = Kvm.open();
                KvmMachine source = KvmMachine.create(kvm, config);
                KvmMachine dest = KvmMachine.create(kvm, config)) {
            source.boot();
            source.channel().call(GuestAbi.OP_WRITE_PAGES, pfn - 5, 10, 1);
            source.pause();
            VcpuState state = source.saveState();
            copyMemory(source, dest, pfn);
            dest.start(state);
            Reply check = dest.channel().call(GuestAbi.OP_VERIFY_ALL);
            assertThat(check.arg(0)).isEqualTo(10);
            assertThat(check.arg(1)).isEqualTo(1);
            assertThat(check.arg(2)).isEqualTo(pfn);
            MemorySegment lost = dest.memory().page(pfn);
            assertThat(lost.mismatch(MemorySegment.ofArray(new byte[GuestAbi.PAGE_SIZE])))
                    .isEqualTo(-1);
        }
    }
}
