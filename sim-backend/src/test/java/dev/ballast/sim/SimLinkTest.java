package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimLinkTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(1L << 20); // 256 pages
    private final SimGuest guest = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, true, 0));
    private final SimDestination dest = new SimDestination(LAYOUT);

    private SimLink link(long failAfterPages, long failAtNs) {
        return new SimLink(guest, dest, guest.costs, guest.checkers.resend, failAfterPages, failAtNs);
    }

    @Test
    void shouldCopyWhatTheGuestHoldsAndRememberWhatArrived() throws LinkException {
        long page = guest.allocPages(0);
        guest.write(page);
        SimLink l = link(-1, -1);
        l.sendPages(0, page, 1);
        l.sendFill(0, 100, 4, 0xAA);
        assertThat(dest.read(0, page)).isEqualTo(guest.read(page));
        assertThat(dest.read(0, 101)).isEqualTo(PageContent.filled(0xAA));
        List<String> missing = new ArrayList<>();
        link(-1, -1).open(LAYOUT, 0, (block, offset, count) -> missing.add(block + ":" + offset + "+" + count));
        assertThat(missing).containsExactly("0:0+" + page, "0:" + (page + 1) + "+" + (100 - page - 1), "0:104+152");
    }

    @Test
    void shouldFailOnceTheGivenPagesWereSentAndStayDown() throws LinkException {
        SimLink l = link(10, -1);
        l.sendPages(0, 0, 10);
        assertThatThrownBy(() -> l.sendPages(0, 10, 1))
                .isInstanceOfSatisfying(
                        LinkException.class, e -> assertThat(e.failureCause()).isEqualTo(FailureCause.INJECTED))
                .hasMessage("link failure injected after 10 pages");
        assertThatThrownBy(l::complete)
                .isInstanceOfSatisfying(
                        LinkException.class, e -> assertThat(e.failureCause()).isEqualTo(FailureCause.PEER_CLOSED))
                .hasMessage("the link is down");
    }

    @Test
    void shouldFailAtTheGivenTime() throws LinkException {
        SimLink l = link(-1, 5_000);
        l.endIteration(1);
        guest.costs.advanceTo(5_000);
        assertThatThrownBy(() -> l.endIteration(2)).isInstanceOf(LinkException.class);
    }

    @Test
    void shouldRefuseADestinationWhoseLayoutDiffers() {
        RamLayout other = RamLayout.pcLike(2L << 20);
        assertThatThrownBy(() -> link(-1, -1).open(other, 0, (b, o, c) -> {}))
                .isInstanceOfSatisfying(
                        LinkException.class, e -> assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL))
                .hasMessageStartingWith("the destination's RAM layout differs");
    }

    @Test
    void shouldTellTheResendCheckerWhatItSends() throws LinkException {
        SimLink l = link(-1, -1);
        l.sendPages(0, 20, 2);
        l.sendPages(0, 21, 1);
        assertThat(guest.checkers.violations().first())
                .startsWith("invariant 3 (no needless resend): page ram-low+0x15");
    }
}
