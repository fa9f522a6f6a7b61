package dev.ballast.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VcpuKickTest {
    @Test
    void shouldInstallItsHandlerOnceAndShowInSigCgt() {
        VcpuKick.install();
        VcpuKick.install();
        assertThat(VcpuKick.caught(VcpuKick.SIGNAL)).isTrue();
    }

    @Test
    void shouldLeaveAThreadThatReceivesTheKickRunning() throws Exception {
        VcpuKick.install();
        java.util.concurrent.CompletableFuture<Long> self = new java.util.concurrent.CompletableFuture<>();
        Thread t = Thread.ofPlatform().start(() -> {
            self.complete(dev.ballast.kvm.sys.LibC.pthreadSelf());
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        VcpuKick.kick(self.get());
        t.join(2000);
        assertThat(t.isAlive()).isFalse();
    }
}
