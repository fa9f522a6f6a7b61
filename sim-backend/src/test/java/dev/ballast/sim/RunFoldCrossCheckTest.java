package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fold of a run's events against the engine's own counters: two independent bookkeepings of
 * the same migration, which must agree for every policy, attempt and hop.
 */
class RunFoldCrossCheckTest {
    private static final long M = 1L << 20;
    private static final String[] POLICIES = {"legacy", "balloon", "hint", "bitmap", "hint+balloon", "balloon-zero"};

    /** Folds the events and keeps the fold's statistics at the end of every migration. */
    private static final class Folding implements EventSink {
        final RunFold fold;
        final List<EngineStats> atEnd = new ArrayList<>();
        final List<dev.ballast.core.engine.PostcopyStats> postcopyAtEnd = new ArrayList<>();

        Folding(Scenario s, RamLayout layout) {
            fold = new RunFold(layout, s.poisonByte(), s.engineConfig().pageHeaderBytes());
        }

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            fold.publish(type, timeNs, a, b, c);
            if (type == EventType.END) {
                atEnd.add(fold.migrationStats());
                postcopyAtEnd.add(fold.postcopyStats());
            }
        }
    }

    private static void check(Scenario s) {
        check(s, SimRun.Hooks.NONE);
    }

    private static void check(Scenario s, SimRun.Hooks hooks) {
        RamLayout layout = RamLayout.pcLike(s.guestMemBytes());
        Folding folding = new Folding(s, layout);
        List<MigrationEngine> engines = new ArrayList<>();
        RunReport report = new SimRun(s, layout, hooks.withEngine(engines::add), folding, Backend.Progress.NONE).run();
        String what = s.workload() + " " + s.policy() + " fail-at " + s.failAt() + " chain " + s.chain() + " poison "
                + s.poisonByte();
        assertThat(folding.atEnd).as(what).hasSameSizeAs(engines);
        for (int i = 0; i < engines.size(); i++) {
            EngineStats e = engines.get(i).stats();
            EngineStats f = folding.atEnd.get(i);
            assertThat(f)
                    .as("%s: migration %d", what, i + 1)
                    .usingRecursiveComparison()
                    .ignoringFields("failureMessage", "lastBandwidthBytesPerSec")
                    .isEqualTo(e);
            assertThat(f.lastBandwidthBytesPerSec()).isEqualTo((double) (long) e.lastBandwidthBytesPerSec());
            assertThat(folding.postcopyAtEnd.get(i))
                    .as("%s: migration %d, postcopy", what, i + 1)
                    .isEqualTo(engines.get(i).postcopyStats());
        }
        EngineStats sum = folding.fold.runStats();
        assertThat(sum.transferredBytes()).as(what).isEqualTo(report.transferredBytes());
        assertThat(new RunReport.Pages(
                        sum.pagesNormal(), sum.pagesZero(), sum.skippedBalloon(), sum.skippedFree(), sum.resent()))
                .as(what)
                .isEqualTo(report.pages());
        assertThat(sum.iterations()).as(what).isEqualTo(report.iterations());
        assertThat(new RunReport.Hints(
                        sum.hintRequests(), sum.hintRanges(), sum.hintPages(), sum.skippedFree(), sum.hintRejected()))
                .as(what)
                .isEqualTo(report.hints());
        assertThat(sum.balloonInflated()).as(what).isEqualTo(report.balloon().inflatedPages());
        assertThat(sum.balloonDeflated()).as(what).isEqualTo(report.balloon().deflatedPages());
        assertThat(sum.balloonRejected()).as(what).isEqualTo(report.balloon().rejected());
    }

    @Test
    void shouldCountWhatTheEngineCountsForEveryPolicyAndWorkload() {
        for (String w : new String[] {"idle", "memhog", "compile", "random-write", "balloon:25", "deflate-race"}) {
            for (String p : POLICIES) check(Scenario.sim(128 * M, w, p, 3));
        }
    }

    @Test
    void shouldCountWhatTheEngineCountsAcrossRetriesHopsAndPoison() {
        for (String p : POLICIES) {
            check(Scenario.sim(128 * M, "compile", p, 5).withFailAt("40%").withChain(3));
            check(Scenario.sim(128 * M, "balloon:25", p, 6).withGuest(0xAA, false, "bitmap", 0xFFFF_FFF0L));
            check(Scenario.sim(128 * M, "deflate-race", p, 7)
                    .withFailAt("random")
                    .withGuest(0x5A, true, "pfn", 0x8000_0000L));
        }
    }

    @Test
    void shouldCountWhatTheEngineCountsInPostcopyWithFailuresAndChains() {
        dev.ballast.core.engine.Postcopy after2 = dev.ballast.core.engine.Postcopy.parse("2");
        for (String p : POLICIES) {
            Scenario busy = Scenario.sim(128 * M, "random-write,rate=2GiB/s", p, 8)
                    .withLimits(10_000_000_000L, 5_000_000L, 30, 0);
            check(busy.withPostcopy(after2));
            check(busy.withPostcopy(dev.ballast.core.engine.Postcopy.parse("auto"))
                    .withChain(2));
            check(busy.withPostcopy(after2).withFailAt("1.3x"));
            check(Scenario.sim(128 * M, "deflate-race:25,rate=1GiB/s", p, 9)
                    .withLimits(10_000_000_000L, 5_000_000L, 30, 0)
                    .withPostcopy(after2.withHints(true)));
        }
    }

    @Test
    void shouldCountRejectedRequestsAsTheEngineDoes() {
        SimRun.Hooks badGuest = SimRun.Hooks.NONE.withGuest(setup -> new SimGuest(setup) {
            @Override
            public void hintCommand(long id) {
                super.hintCommand(id);
                if (id >= 0x8000_0000L) {
                    injectRequest(EventType.HINT, id, (3L << 30) / 4096, 100);
                    injectRequest(EventType.HINT, id, 1L << 40, 100);
                    injectRequest(EventType.HINT, id - 1, 0, 1000);
                    injectRequest(EventType.HINT, id, 0, -5);
                    injectRequest(EventType.BALLOON_INFLATE, EventType.Balloon.PFNS, (5L << 30) / 4096, 1);
                    injectRequest(EventType.BALLOON_DEFLATE, EventType.Balloon.BITMAP, 16, 1L << 40);
                    injectRequest(EventType.REJECT, 3, 0, 0);
                    injectRequest(EventType.HINT, id, 4096, 64);
                }
            }
        });
        for (String p : POLICIES) check(Scenario.sim(4L << 30, "idle", p, 17), badGuest);
    }
}
