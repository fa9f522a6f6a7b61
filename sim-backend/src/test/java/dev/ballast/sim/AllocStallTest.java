package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.policy.CommandIds;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.HintDriver;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An allocation that reclaim cannot serve at once stalls, and waits until the memory it needs is back: its wait is
 * journaled ({@code ALLOC_STALL} when it first fails, {@code ALLOC_RESUMED} with the wait when it is served) and
 * {@link RunFold} sums it.
 */
class AllocStallTest {
    static final long ID = 0x8000_0000L;
    static final long BLOCK = 1024;
    static final long STALL_AT = 2_000_000L;
    static final long HOST_TAKES_AT = 5_000_000L;

    /** A guest whose free memory the hint driver holds, its reports not yet read by the host, and nothing else free. */
    static SimGuest heldAndExhausted(HintDriver driver, GuestEventsTest.Recorded rec) {
        SimGuest g = GuestEventsTest.guest(new SimGuest.Kernel(driver, false, false), rec);
        g.hintCommand(ID);
        g.tick(1_000_000);
        while (g.allocPages(0) >= 0) {}
        g.setNow(STALL_AT);
        return g;
    }

    @Test
    void shouldWaitWithTheAcknowledgedShrinkerUntilTheHostHasTakenTheReportsOfTheBlocksItGivesBack() {
        GuestEventsTest.Recorded rec = new GuestEventsTest.Recorded();
        SimGuest g = heldAndExhausted(HintDriver.LINUX_ACKED, rec);
        assertThat(g.allocReclaiming(0))
                .as("every held block's report is in flight")
                .isNegative();
        assertThat(g.allocStalled()).isTrue();
        g.setNow(STALL_AT + 1_000_000);
        assertThat(g.allocReclaiming(0)).as("a retry before the host read them").isNegative();

        g.setNow(HOST_TAKES_AT);
        g.drainRequests((type, a, b, c) -> {}, Integer.MAX_VALUE);
        assertThat(g.allocReclaiming(0)).isNotNegative();
        assertThat(g.allocStalled()).isFalse();
        g.allocServed(0); // the application's next allocations: no stall is open

        List<Object[]> stalls = rec.of(EventType.ALLOC_STALL);
        assertThat(stalls).as("one stall, however many retries").hasSize(1);
        assertThat((long) stalls.getFirst()[1]).isEqualTo(STALL_AT);
        List<Object[]> resumed = rec.of(EventType.ALLOC_RESUMED);
        assertThat(resumed).hasSize(1);
        assertThat((long) resumed.getFirst()[1]).isEqualTo(HOST_TAKES_AT);
        assertThat((long) resumed.getFirst()[3]).as("wait").isEqualTo(HOST_TAKES_AT - STALL_AT);
        assertThat((long) resumed.getFirst()[4]).as("one block given back").isEqualTo(BLOCK);
        assertThat(g.allocStalls).isEqualTo(1);
        assertThat(g.allocStallNs).isEqualTo(HOST_TAKES_AT - STALL_AT);

        RunFold fold = fold(rec);
        assertThat(fold.allocStalls()).isEqualTo(new RunFold.AllocStalls(1, 1, 3_000_000, 3_000_000, 0));
        RunFold restored = RunFold.restore(GuestEventsTest.LAYOUT, 0, 0, fold.snapshot());
        assertThat(restored.allocStalls()).as("a checkpoint holds them").isEqualTo(fold.allocStalls());
    }

    @Test
    void shouldServeAtOnceWithTheDriverAsShippedWhichGivesBackBlocksInFlight() {
        GuestEventsTest.Recorded rec = new GuestEventsTest.Recorded();
        SimGuest g = heldAndExhausted(HintDriver.LINUX, rec);
        assertThat(g.allocReclaiming(0)).isNotNegative();
        assertThat(rec.of(EventType.ALLOC_STALL)).isEmpty();
        assertThat(rec.of(EventType.ALLOC_RESUMED)).isEmpty();
        assertThat(fold(rec).allocStalls()).isEqualTo(new RunFold.AllocStalls(0, 0, 0, 0, 0));
    }

    @Test
    void shouldWaitWithTheIdealisedDriverUntilTheHostSaysDone() {
        GuestEventsTest.Recorded rec = new GuestEventsTest.Recorded();
        SimGuest g = heldAndExhausted(HintDriver.IDEAL, rec);
        assertThat(g.allocReclaiming(0)).as("it has no shrinker").isNegative();
        RunFold waiting = fold(rec);
        waiting.publish(EventType.STEP, STALL_AT + 250_000, 0, 0, 0); // the engine's next step
        assertThat(waiting.allocStalls()).isEqualTo(new RunFold.AllocStalls(1, 0, 0, 0, 250_000));
        g.setNow(HOST_TAKES_AT);
        g.drainRequests((type, a, b, c) -> {}, Integer.MAX_VALUE);
        assertThat(g.allocReclaiming(0))
                .as("the host took the hints but holds them")
                .isNegative();
        long doneAt = HOST_TAKES_AT + 7_000_000;
        g.setNow(doneAt);
        g.hintCommand(CommandIds.DONE);
        g.tick(1_000_000);
        assertThat(g.allocReclaiming(0)).isNotNegative();
        List<Object[]> resumed = rec.of(EventType.ALLOC_RESUMED);
        assertThat(resumed).hasSize(1);
        assertThat((long) resumed.getFirst()[3]).isEqualTo(doneAt - STALL_AT);
        assertThat((long) resumed.getFirst()[4])
                .as("nothing reclaimed: the driver gave its pages back")
                .isZero();
    }

    /**
     * The README's row: a 1 GiB guest with 1 % in use whose application needs a block of the hinted migration while
     * its report is still on its way. With {@code linux-acked} it stalls until the host has read it, and loses
     * nothing; with the driver as shipped it is served at once, and the host's discard erases its write.
     */
    @Test
    void shouldStallInAHintedMigrationWhereTheDriverAsShippedLosesTheWrite() {
        String w = "idle,used=1%,pressure=50%,hint-run=1,discard-hinted=1,hint-driver=";
        GuestEventsTest.Recorded rec = new GuestEventsTest.Recorded();
        Scenario acked = Scenario.sim(1L << 30, w + "linux-acked", "hint", 1);
        RunReport r = new SimRun(acked, acked.layout(), SimRun.Hooks.NONE, rec, Backend.Progress.NONE).run();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        RunFold.AllocStalls s = fold(rec, acked.layout()).allocStalls();
        assertThat(s.stalls()).isPositive();
        assertThat(s.resumed()).isEqualTo(s.stalls());
        assertThat(s.waitNs()).isPositive();
        assertThat(rec.of(EventType.ALLOC_RESUMED))
                .as("served by blocks the shrinker gave back once their reports were read")
                .anySatisfy(e -> assertThat((long) e[4]).isPositive());

        GuestEventsTest.Recorded shipped = new GuestEventsTest.Recorded();
        Scenario linux = Scenario.sim(1L << 30, w + "linux", "hint", 1);
        RunReport lost = new SimRun(linux, linux.layout(), SimRun.Hooks.NONE, shipped, Backend.Progress.NONE).run();
        assertThat(lost.verify().violation()).startsWith("invariant 1 (no lost write): the host discarded page");
        assertThat(shipped.of(EventType.ALLOC_STALL)).isEmpty();
    }

    private static RunFold fold(GuestEventsTest.Recorded rec) {
        return fold(rec, GuestEventsTest.LAYOUT);
    }

    private static RunFold fold(GuestEventsTest.Recorded rec, dev.ballast.core.mem.RamLayout layout) {
        RunFold f = new RunFold(layout, 0, 0);
        for (Object[] e : rec.events) f.publish((EventType) e[0], (long) e[1], (long) e[2], (long) e[3], (long) e[4]);
        return f;
    }
}
