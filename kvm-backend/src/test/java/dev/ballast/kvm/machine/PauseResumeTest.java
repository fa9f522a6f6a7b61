package dev.ballast.kvm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** pause() stops the guest wherever it is, even in a loop that never exits; resume() lets it go on. */
class PauseResumeTest extends BootedMachine {
    private long spinCounter() {
        return machine.channel().control(GuestAbi.CTL_SPIN_COUNTER_OFF);
    }

    private void awaitSpinning(long above) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (spinCounter() <= above && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(spinCounter()).as("the guest spins").isGreaterThan(above);
    }

    @Test
    void shouldPauseAndResumeAGuestSpinningWithoutExits() throws Exception {
        long token = 42;
        long id = machine.channel().submit(GuestAbi.OP_SPIN, token);
        awaitSpinning(0);
        long exits = machine.ioExits();
        int rounds = 20;
        long[] latencyNanos = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            machine.pause();
            latencyNanos[i] = machine.lastPauseNanos();
            assertThat(machine.isPaused()).isTrue();
            long stopped = spinCounter();
            Thread.sleep(20);
            assertThat(spinCounter()).as("a paused guest does not run").isEqualTo(stopped);
            machine.resume();
            awaitSpinning(stopped);
        }
        assertThat(machine.ioExits()).as("the spin loop never exits by itself").isEqualTo(exits);
        long last = spinCounter();
        machine.channel().stopSpin(token);
        Reply r = machine.channel().await(id, Duration.ofSeconds(10));
        assertThat(r.arg(0)).isGreaterThanOrEqualTo(last);
        Arrays.sort(latencyNanos);
        System.out.printf(
                "pause latency (spinning guest, %d pauses): median %.1f us, max %.1f us%n",
                rounds, latencyNanos[rounds / 2] / 1e3, latencyNanos[rounds - 1] / 1e3);
    }

    @Test
    void shouldPauseASleepingGuestAndServeCommandsAfterResume() throws Exception {
        Thread.sleep(100); // idle: the vCPU thread waits in PORT_SLEEP, outside KVM_RUN
        machine.pause();
        assertThat(machine.isPaused()).isTrue();
        long id = machine.channel().submit(GuestAbi.OP_NOP, 5);
        Thread.sleep(20);
        assertThat(machine.channel().replyRing().isEmpty())
                .as("no answer while paused")
                .isTrue();
        machine.resume();
        assertThat(machine.channel().await(id, Duration.ofSeconds(10)).arg(0)).isEqualTo(5);
    }

    @Test
    void shouldPauseTwiceAndResumeOnce() throws Exception {
        machine.pause();
        machine.pause();
        machine.resume();
        assertThat(machine.channel().call(GuestAbi.OP_NOP, 1).arg(0)).isEqualTo(1);
    }

    @Test
    void shouldSaveTheVcpuStateOnlyWhenPaused() throws Exception {
        assertThatThrownBy(machine::saveState).hasMessageContaining("pause");
        machine.pause();
        var state = machine.saveState();
        assertThat(state.regs().rip())
                .isBetween(
                        GuestAbi.SYS_GPA + GuestAbi.SYS_IMAGE_OFF,
                        GuestAbi.SYS_GPA + GuestAbi.SYS_IMAGE_OFF + GuestAbi.SYS_IMAGE_MAX);
        assertThat(state.sregs().cs().dpl()).isEqualTo(3);
        assertThat(state.sregs().ss().dpl()).isEqualTo(3);
        machine.resume();
    }
}
