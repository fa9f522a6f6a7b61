package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulated guest's free page hint driver and poisoning, one case at a time: what a hinted
 * page is while the request is live (held: not in use, not handed out by the allocator, not
 * written), when it comes back, and what its freeing and a later write leave in its content and
 * in the dirty log.
 */
class HeldPagesTest {
    static final RamLayout LAYOUT = RamLayout.of(List.of(new RamLayout.Spec("ram", 0, 4096)));
    static final int POISON = 0xAA;

    static PageBitmap dirty(SimGuest g) {
        PageBitmap d = new PageBitmap(LAYOUT.totalPages());
        g.syncDirtyLog((b, off, n) -> d.setRange(off, off + n));
        return d;
    }

    @Test
    void aFreedPageReadsAsPoisonAndIsDirtyAndAWriteReplacesThePoison() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, false, POISON));
        g.startDirtyLog();
        long p = g.allocPages(0);
        g.write(p);
        dirty(g);
        g.freePages(p, 1);
        assertThat(g.read(p)).as("a freed page").isEqualTo(PageContent.filled(POISON));
        assertThat(dirty(g).get(p)).as("the freeing wrote it").isTrue();
        long q;
        do q = g.allocPages(0);
        while (q != p && q >= 0); // the allocator hands every free page out, p among them
        assertThat(q).isEqualTo(p);
        g.write(q);
        assertThat(g.read(q)).as("written again").isPositive();
        assertThat(dirty(g).get(q)).isTrue();
    }

    @Test
    void aGuestThatDoesNotPoisonLeavesAFreedPageAloneAndClean() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, false, 0));
        g.startDirtyLog();
        long p = g.allocPages(0);
        g.write(p);
        int v = g.read(p);
        dirty(g);
        g.freePages(p, 1);
        assertThat(g.read(p)).isEqualTo(v);
        assertThat(dirty(g).get(p)).isFalse();
    }

    @Test
    void aHintedPageIsHeldUntilTheRequestIsDone() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, false, POISON));
        g.startDirtyLog();
        dirty(g);
        long id = CommandIds.MIN + 5;
        g.hintCommand(id);
        g.tick(1_000_000_000L);
        g.setNow(10_000_000_000L); // the reports have reached the host
        List<long[]> hints = new ArrayList<>();
        g.drainRequests(
                (t, a, b, c) -> {
                    if (t == EventType.HINT) hints.add(new long[] {a, b, c});
                },
                Integer.MAX_VALUE);
        assertThat(hints).isNotEmpty().allSatisfy(h -> assertThat(h[0]).isEqualTo(id));
        long held = g.held.count();
        assertThat(held).isEqualTo(hints.stream().mapToLong(h -> h[2]).sum());
        long first = hints.getFirst()[1];
        assertThat(g.held.get(first)).isTrue();
        assertThat(g.inUse(first)).as("held is not in use").isFalse();
        int before = g.read(first);
        // The allocator does not hand out a held page while the request is live.
        List<Long> got = new ArrayList<>();
        for (long a; (a = g.allocPages(0)) >= 0; ) got.add(a);
        assertThat(got).noneMatch(g.held::get);
        assertThat(got.size() + held + 2)
                .as("every page: allocated, held or a ring page")
                .isEqualTo(LAYOUT.totalPages());
        assertThat(g.read(first)).as("holding does not write").isEqualTo(before);
        assertThat(dirty(g).get(first)).isFalse();
        // Done: the held pages are free again and the allocator hands them out.
        g.hintCommand(CommandIds.DONE);
        assertThat(g.held.count()).isZero();
        assertThat(g.inUse(first)).isFalse();
        long again = 0;
        while (g.allocPages(0) >= 0) again++;
        assertThat(again).isEqualTo(held);
    }

    @Test
    void aNewRequestReleasesThePagesOfTheOldOne() {
        SimGuest g = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, false, POISON));
        g.startDirtyLog();
        g.hintCommand(CommandIds.MIN);
        g.tick(1_000_000_000L);
        assertThat(g.held.count()).isPositive();
        g.hintCommand(CommandIds.STOP);
        assertThat(g.held.count()).as("stop keeps them held").isPositive();
        g.hintCommand(CommandIds.MIN + 1);
        assertThat(g.held.count()).as("a new request starts from nothing held").isZero();
    }
}
