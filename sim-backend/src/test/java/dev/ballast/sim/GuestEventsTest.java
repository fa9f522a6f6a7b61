package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.HintDriver;
import dev.ballast.core.run.Scenario;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the simulated guest does on its own goes into the run's events: reports, discards, its shrinker, stalls. */
class GuestEventsTest {
    static final RamLayout LAYOUT = RamLayout.pcLike(64 * M);

    /** Every event published, as (type, time, a, b, c). */
    static final class Recorded implements EventSink {
        final List<Object[]> events = new ArrayList<>();

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            events.add(new Object[] {type, timeNs, a, b, c});
        }

        List<Object[]> of(EventType t) {
            return events.stream().filter(e -> e[0] == t).toList();
        }

        /** Pages the events of this type cover, with {@code c} decoded by {@code pages}. */
        long pages(EventType t, java.util.function.LongUnaryOperator pages) {
            return of(t).stream().mapToLong(e -> pages.applyAsLong((long) e[4])).sum();
        }

        int indexOf(EventType t) {
            for (int i = 0; i < events.size(); i++) if (events.get(i)[0] == t) return i;
            return -1;
        }
    }

    static SimGuest guest(SimGuest.Kernel kernel, Recorded into) {
        SimCosts costs = new SimCosts(CostProfile.defaults(), 0);
        SimGuest g = new SimGuest(new SimGuest.Setup(
                LAYOUT,
                new GuestFeatures(true, true, true, 0),
                false,
                costs,
                new SimCheckers(LAYOUT, 0),
                SimOptions.DEFAULTS,
                kernel));
        g.publishTo(into);
        return g;
    }

    private long now;

    void runFor(SimGuest g, long ns) {
        for (long end = now + ns; now < end; now += 1_000_000) {
            g.setNow(now);
            g.tick(1_000_000);
        }
    }

    @Test
    void shouldPublishAReportItsDiscardsAndTheAnswerWithTheirPages() {
        Recorded rec = new Recorded();
        SimGuest g = guest(new SimGuest.Kernel(HintDriver.LINUX, false, false, true, false), rec);
        long i = g.allocPages(13);
        g.writeRange(i, 8192);
        g.freePages(i, 8192);
        runFor(g, 2_100_000_000L);

        // 64 MiB less the 2 MiB block with the device rings: 31 blocks, one report
        assertThat(rec.pages(EventType.REPORT, c -> c)).isEqualTo(31 * 512);
        assertThat(rec.pages(EventType.HOST_DISCARD, EventType.HostDiscard::pages))
                .isEqualTo(31 * 512);
        assertThat(rec.of(EventType.HOST_DISCARD))
                .allSatisfy(e ->
                        assertThat(EventType.HostDiscard.why((long) e[4])).isEqualTo(EventType.HostDiscard.REPORT));
        assertThat(rec.pages(EventType.REPORT_DONE, c -> c)).isEqualTo(31 * 512);
        // adjacent blocks are one event: the free memory is two runs at most (either side of the ring block)
        assertThat(rec.of(EventType.REPORT)).hasSizeLessThanOrEqualTo(2);
        assertThat(rec.indexOf(EventType.REPORT))
                .isLessThan(rec.indexOf(EventType.HOST_DISCARD))
                .isLessThan(rec.indexOf(EventType.REPORT_DONE));
        // the report is sent 2 s after the free; the host answers after its delivery delay
        assertThat((long) rec.of(EventType.REPORT).getFirst()[1]).isEqualTo(2_000_000_000L);
        assertThat((long) rec.of(EventType.REPORT_DONE).getFirst()[1]).isGreaterThan(2_000_000_000L);

        // the resident memory: 32 MiB and the rings at first, the rings alone after the discards
        List<Object[]> resident = rec.of(EventType.RESIDENT);
        assertThat((long) resident.getFirst()[2]).isEqualTo(8192 + 2);
        assertThat((long) resident.getLast()[2]).isEqualTo(2);
        assertThat((long) resident.getLast()[3]).isEqualTo(8192); // released by the discards
        assertThat((long) resident.getLast()[4]).isEqualTo(16384);
        // published when it changes, not at every tick
        assertThat(resident).hasSize(2);
    }

    @Test
    void shouldPublishTheShrinkersBlocksAndAStall() {
        Recorded rec = new Recorded();
        SimGuest g = guest(new SimGuest.Kernel(HintDriver.LINUX, false, false), rec);
        g.hintCommand(0x8000_0000L);
        g.tick(1_000_000);
        while (g.allocPages(0) >= 0) {}
        assertThat(g.allocReclaiming(3)).isNotNegative();
        List<Object[]> shrunk = rec.of(EventType.SHRINK);
        assertThat(shrunk).hasSize(1);
        assertThat((long) shrunk.getFirst()[4]).isEqualTo(1024);
        assertThat(rec.of(EventType.ALLOC_STALL)).isEmpty();

        while (g.allocReclaiming(0) >= 0) {} // the shrinker gives all it holds, then the guest stalls
        assertThat(rec.pages(EventType.SHRINK, c -> c)).isEqualTo(15 * 1024);
        List<Object[]> stalls = rec.of(EventType.ALLOC_STALL);
        assertThat(stalls).hasSize(1);
        assertThat((long) stalls.getFirst()[2]).isZero(); // order
        assertThat((long) stalls.getFirst()[3]).isEqualTo(1); // stalls so far
        assertThat((long) stalls.getFirst()[4]).isZero(); // nothing free
    }

    @Test
    void shouldJournalThemInARunWithReportingAndPressure() {
        Scenario s = Scenario.sim(256 * M, "memhog,reporting=1,pressure=60%,hint-driver=linux-acked", "hint", 3)
                .withLimits(500_000_000L, 50_000_000L, 8, 0);
        Recorded rec = new Recorded();
        new SimRun(s, s.layout(), SimRun.Hooks.NONE, rec, Backend.Progress.NONE).run();
        assertThat(rec.of(EventType.REPORT)).isNotEmpty();
        assertThat(rec.of(EventType.HOST_DISCARD)).isNotEmpty();
        assertThat(rec.of(EventType.REPORT_DONE)).isNotEmpty();
        assertThat(rec.of(EventType.SHRINK)).isNotEmpty();
        assertThat(rec.of(EventType.RESIDENT)).isNotEmpty();
    }
}
