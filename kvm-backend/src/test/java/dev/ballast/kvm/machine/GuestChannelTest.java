package dev.ballast.kvm.machine;

import static dev.ballast.kvm.guestabi.GuestAbi.CTL_STAT_SLEEPS_OFF;
import static dev.ballast.kvm.guestabi.GuestAbi.OP_NOP;
import static dev.ballast.kvm.guestabi.GuestAbi.OP_WRITE_PAGES;
import static dev.ballast.kvm.guestabi.GuestAbi.ST_BAD_OP;
import static dev.ballast.kvm.guestabi.GuestAbi.ST_BAD_RANGE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.mem.GuestLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Host and guest talking through the shared-memory rings. */
class GuestChannelTest extends BootedMachine {
    private boolean guestSleeps() {
        return (machine.channel().control(GuestAbi.CTL_GUEST_SLEEPING_OFF) & 0xFFFFFFFFL) == 1;
    }

    /** Waits until the guest has run out of idle spins and sleeps in PORT_SLEEP. */
    private void awaitGuestAsleep() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!guestSleeps() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(guestSleeps()).as("the guest sleeps").isTrue();
        assertThat(machine.channel().control(CTL_STAT_SLEEPS_OFF)).isPositive();
    }

    @Test
    void shouldEchoANopThroughTheRings() throws Exception {
        Reply r = machine.channel().call(OP_NOP, 1, 2, 3, 4, 5, -6);
        assertThat(r.ok()).isTrue();
        assertThat(r.op()).isEqualTo(OP_NOP);
        assertThat(r.args()).containsExactly(1, 2, 3, 4, 5, -6);
    }

    @Test
    void shouldAnswerEveryCommandInOrderWhileTheRingsWrapAround() throws Exception {
        List<Long> ids = new ArrayList<>();
        for (int batch = 0; batch < 8; batch++) {
            List<Long> sent = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                sent.add(machine.channel().submit(OP_NOP, batch, i));
            }
            for (int i = 0; i < 200; i++) {
                Reply r = machine.channel().await(sent.get(i), Duration.ofSeconds(10));
                assertThat(r.args()).startsWith(batch, i);
                ids.add(r.id());
            }
        }
        assertThat(ids).hasSize(1600).isSorted().doesNotHaveDuplicates();
        assertThat(machine.channel().commandRing().isEmpty()).isTrue();
    }

    @Test
    void shouldWakeASleepingGuestAndAnswerWithoutLosingTheCommand() throws Exception {
        awaitGuestAsleep();
        for (int i = 0; i < 20; i++) {
            assertThat(machine.channel().call(OP_NOP, i).arg(0)).isEqualTo(i);
            Thread.sleep(5);
        }
    }

    @Test
    void shouldNotRingTheDoorbellWhileTheHostPolls() throws Exception {
        machine.channel().call(OP_NOP);
        long doorbells = machine.doorbells();
        List<Long> sent = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            sent.add(machine.channel().submit(OP_NOP, i));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (machine.channel().replyRing().size() < 200 && System.nanoTime() < deadline) {
            Thread.onSpinWait(); // polling only: the host never asks for a doorbell
        }
        assertThat(machine.channel().replyRing().size()).isEqualTo(200);
        assertThat(machine.doorbells()).isEqualTo(doorbells);
        for (int i = 0; i < 200; i++) {
            assertThat(machine.channel().poll().id()).isEqualTo(sent.get(i));
        }
    }

    @Test
    void shouldRingTheDoorbellOnceWhenTheHostBlocksForAReply() throws Exception {
        long token = 0x5157;
        long id = machine.channel().submit(GuestAbi.OP_SPIN, token);
        long doorbells = machine.doorbells();
        java.util.concurrent.CompletableFuture<Reply> reply = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return machine.channel().await(id, Duration.ofSeconds(10));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while ((machine.channel().control(GuestAbi.CTL_HOST_WANTS_DOORBELL_OFF) & 0xFFFFFFFFL) != 1
                && System.nanoTime() < deadline) {
            Thread.sleep(1); // until the waiter is past its polling window and blocked
        }
        assertThat(machine.channel().control(GuestAbi.CTL_HOST_WANTS_DOORBELL_OFF) & 0xFFFFFFFFL)
                .isEqualTo(1);
        machine.channel().stopSpin(token);
        assertThat(reply.get(10, java.util.concurrent.TimeUnit.SECONDS).arg(0)).isPositive();
        assertThat(machine.doorbells()).isEqualTo(doorbells + 1);
    }

    @Test
    void shouldAnswerRoundTripsAfterTheGuestSlept() throws Exception {
        long doorbells = machine.doorbells();
        long exits = machine.ioExits();
        awaitGuestAsleep();
        int n = 200;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            assertThat(machine.channel().call(OP_NOP, i).arg(0)).isEqualTo(i);
        }
        double usPerCall = (System.nanoTime() - t0) / 1e3 / n;
        System.out.printf(
                "ring round trip: %.1f us per NOP; %d doorbells and %d exits in %d calls%n",
                usPerCall, machine.doorbells() - doorbells, machine.ioExits() - exits, n);
    }

    @Test
    void shouldRejectAnUnknownOpAndPagesOutsideRam() throws Exception {
        assertThat(machine.channel().call(99).status()).isEqualTo(ST_BAD_OP);
        long pastRam = 64 * GuestLayout.MIB / GuestAbi.PAGE_SIZE;
        Reply r = machine.channel().call(OP_WRITE_PAGES, pastRam - 1, 2, 1);
        assertThat(r.status()).isEqualTo(ST_BAD_RANGE);
        assertThat(r.arg(0)).isEqualTo(1); // the page inside RAM was written
        assertThat(r.arg(1)).isEqualTo(pastRam);
        assertThat(machine.channel().call(OP_NOP, 7).arg(0)).isEqualTo(7); // and the guest goes on
    }
}
