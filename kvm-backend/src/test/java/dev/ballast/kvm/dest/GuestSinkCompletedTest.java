package dev.ballast.kvm.dest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.Verdict;
import dev.ballast.core.wire.WireException;
import dev.ballast.core.wire.WireFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A destination remembers the verdicts of the last postcopy migrations it completed, so that a source whose
 * COMPLETE_ACK was lost, and which recovers, gets that verdict again; but only for the same session and layout, and
 * only the last few: anything else is refused as a recovery of nothing.
 */
class GuestSinkCompletedTest {
    static final RamLayout LAYOUT = RamLayout.of(List.of(new RamLayout.Spec("ram-low", 0, 512)));
    static final RamLayout OTHER = RamLayout.of(List.of(new RamLayout.Spec("ram-low", 0, 1024)));

    static GuestSink sink() {
        return new GuestSink(
                (l, poison) -> {
                    throw new IllegalStateException("no VM in this test");
                },
                1L << 30,
                null);
    }

    static Hello recover(long session, RamLayout l) {
        return new Hello(WireFormat.VERSION, session, 0, l, true);
    }

    @Test
    void shouldAnswerARecoveryOfACompletedSessionWithItsVerdict() throws Exception {
        GuestSink s = sink();
        Verdict v = Verdict.of(512, 0, true, "verified: 512 pages checked");
        s.remember(7, LAYOUT, v);
        assertThat(s.completedBefore(recover(7, LAYOUT))).isEqualTo(v);
    }

    @Test
    void shouldRefuseARecoveryOfACompletedSessionWithAnotherLayout() {
        GuestSink s = sink();
        s.remember(7, LAYOUT, Verdict.of(512, 0, true, "verified: 512 pages checked"));
        assertThat(s.completedBefore(recover(7, OTHER))).isNull();
        assertThat(s.completedBefore(recover(8, LAYOUT))).isNull();
        // and the recovery itself is refused, as one of a migration that does not run here
        assertThatThrownBy(() -> s.recover(recover(7, OTHER), (b, o, n) -> {}))
                .isInstanceOf(WireException.class)
                .hasMessageContaining("no postcopy migration of session 0x7 runs here to recover");
    }

    @Test
    void shouldRememberOnlyTheLastFewSessions() {
        GuestSink s = sink();
        for (long session = 1; session <= GuestSink.REMEMBERED + 1; session++)
            s.remember(session, LAYOUT, Verdict.of(session, 0, true, "verified"));
        assertThat(s.completedBefore(recover(1, LAYOUT)))
                .as("the oldest is forgotten")
                .isNull();
        for (long session = 2; session <= GuestSink.REMEMBERED + 1; session++)
            assertThat(s.completedBefore(recover(session, LAYOUT)).checkedPages())
                    .isEqualTo(session);
    }
}
