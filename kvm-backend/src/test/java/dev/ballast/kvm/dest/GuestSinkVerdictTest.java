package dev.ballast.kvm.dest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.wire.Verdict;
import dev.ballast.kvm.guest.SelfCheck;
import org.junit.jupiter.api.Test;

/**
 * The destination's verdict says when its own host broke an invariant by a discard while the guest ran there (a free
 * page report it discarded, a page the guest used): the migration fails with that invariant, so the source's result
 * names it, even when the guest's self-check read every page right.
 */
class GuestSinkVerdictTest {
    static final String DISCARD = Invariant.NO_LOST_WRITE.violation(
            "the host discarded page ram-low+0x28 (PFN 0x28), which the guest had not isolated for a report (it may be in use)");

    @Test
    void shouldFailAVerifiedMigrationWhoseDestinationDiscardedAPageTheGuestUses() {
        Verdict v = GuestSink.verdict(new SelfCheck(2001, 0, -1, null, 10), DISCARD, 42);
        assertThat(v.ok()).isFalse();
        assertThat(v.checkedPages()).isEqualTo(2001);
        assertThat(v.badPages()).isZero();
        assertThat(v.message()).startsWith(DISCARD).endsWith("(on the destination)");
        assertThat(Invariant.named(v.message()))
                .as("the source names the invariant from the message")
                .isEqualTo(Invariant.NO_LOST_WRITE);
    }

    @Test
    void shouldNameTheDiscardAndKeepTheSelfChecksFindingWhenBothBroke() {
        String lost = Invariant.NO_LOST_WRITE.violation("page ram-low+0x28 (PFN 0x28) lost its write (8 pages bad)");
        Verdict v = GuestSink.verdict(new SelfCheck(2001, 8, 0x28, lost, 10), DISCARD, 42);
        assertThat(v.ok()).isFalse();
        assertThat(v.badPages()).isEqualTo(8);
        assertThat(v.message()).startsWith(DISCARD).contains("its self-check: " + lost);
    }

    @Test
    void shouldSayVerifiedWhenNeitherBroke() {
        Verdict v = GuestSink.verdict(new SelfCheck(2001, 0, -1, null, 10), null, 42);
        assertThat(v.ok()).isTrue();
        assertThat(v.message()).isEqualTo("verified: 2001 pages checked");
        assertThat(v.checkMicros()).isEqualTo(42);
    }
}
