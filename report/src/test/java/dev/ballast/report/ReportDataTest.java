package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReportDataTest {
    private static final long M = 1L << 20;
    private static final long G = 1L << 30;

    @ParameterizedTest
    @CsvSource({
        "idle,legacy,0",
        "idle,hint,0",
        "memhog,bitmap,0",
        "memhog,hint,170",
        "compile,hint,0",
        "balloon:25,balloon,0",
        "deflate-race,hint+balloon,0",
        "random-write,legacy,0"
    })
    void shouldCountWhatTheEngineCounted(String workload, String policy, int poison) {
        Scenario s = Scenario.sim(512 * M, workload, policy, 3).withGuest(poison, true, "pfn", Scenario.MIN_COMMAND_ID);
        Recorded rec = Recorded.run(s);
        RunReport want = rec.report;
        ReportData d = ReportData.read(rec.input());
        ReportData.Totals t = d.totals();
        assertThat(t.outcome()).isEqualTo("COMPLETED");
        assertThat(t.events()).isEqualTo(rec.count());
        assertThat(t.normal()).isEqualTo(want.pages().normal());
        assertThat(t.zero()).isEqualTo(want.pages().zero());
        assertThat(t.skippedFree()).isEqualTo(want.pages().skippedFree());
        assertThat(t.skippedBalloon()).isEqualTo(want.pages().skippedBalloon());
        assertThat(t.resent()).isEqualTo(want.pages().resent());
        assertThat(t.transferredBytes()).isEqualTo(want.transferredBytes());
        assertThat(t.iterations()).isEqualTo(want.iterations());
        assertThat(t.downtimeMs()).isCloseTo(want.downtimeMs(), within(0.01));
        assertThat(t.timeMs()).isCloseTo(want.totalTimeMs(), within(0.01));
        assertThat(d.verify().checkedPages()).isEqualTo(want.verify().checkedPages());
        assertThat(d.verify().ok()).isTrue();
        // the passes add up to the totals: every send is a first send (with data, zero, or poison for a free page) or a
        // resend
        long firstSends = d.passes().stream()
                .mapToLong(p -> p.sent() + p.zero() + (poison == 0 ? 0 : p.skippedFree()))
                .sum();
        long resends = d.passes().stream().mapToLong(ReportData.Pass::resent).sum();
        assertThat(resends).isEqualTo(want.pages().resent());
        long poisonSends = poison == 0 ? 0 : want.pages().skippedFree();
        assertThat(firstSends + resends)
                .isEqualTo(want.pages().normal() + want.pages().zero() + poisonSends);
    }

    @Test
    void shouldKeepEverythingBoundedForALargeGuest() {
        Scenario s = Scenario.sim(64 * G, "compile", "hint", 1);
        ReportData d = ReportData.read(Recorded.run(s).input());
        ReportData.Series series = d.series();
        assertThat(series.pendingMax().length).isBetween(ReportData.MAX_BUCKETS / 2, ReportData.MAX_BUCKETS);
        assertThat(series.gbps()).hasSameSizeAs(series.pendingMax());
        long cells =
                d.memory().regions().stream().mapToLong(r -> r.cells().length()).sum();
        assertThat(cells).isBetween((long) ReportData.MAP_CELLS / 2, 2L * ReportData.MAP_CELLS);
        assertThat(d.series().bucketMs() * series.pendingMax().length)
                .isGreaterThanOrEqualTo(d.totals().timeMs());
    }

    @Test
    void shouldReadAHundredMillionEventsOfATebibyteGuestInSeconds() {
        Scenario s = Scenario.sim(1024 * G, "idle", "hint", 1);
        long events = 100_000_000L;
        RunInput run = new RunInput(
                "synthetic", dev.ballast.core.run.RunManifest.of(s), () -> new SyntheticRun(s.layout(), events));
        ReportData.read(new RunInput("warm-up", run.manifest(), () -> new SyntheticRun(s.layout(), 5_000_000L)));
        long t0 = System.nanoTime();
        ReportData d = ReportData.read(run);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                java.util.Locale.ROOT,
                "report data: %,d events of a 1 TiB guest in %.2f s (%.0f M events/s)%n",
                d.totals().events(),
                seconds,
                d.totals().events() / seconds / 1e6);
        assertThat(d.totals().events()).isGreaterThanOrEqualTo(events);
        assertThat(d.totals().outcome()).isEqualTo("COMPLETED");
        assertThat(d.series().pendingMax().length).isLessThanOrEqualTo(ReportData.MAX_BUCKETS);
        assertThat(d.memory().regions().stream()
                        .mapToInt(r -> r.cells().length())
                        .sum())
                .isLessThanOrEqualTo(2 * ReportData.MAP_CELLS);
        assertThat(d.passes().size()).isLessThan(20);
        // generous: the point is seconds, not minutes, on a shared machine
        assertThat(seconds).isLessThan(60);
    }

    @Test
    void shouldShowTheHoleBetweenTheBlocks() {
        ReportData d = ReportData.read(
                Recorded.run(Scenario.sim(8 * G, "idle", "legacy", 1)).input());
        List<ReportData.Region> r = d.memory().regions();
        assertThat(r).extracting(ReportData.Region::name).containsExactly("ram-low", "hole", "ram-high");
        assertThat(r.get(1).hole()).isTrue();
        assertThat(r.get(1).firstPfn()).isEqualTo((3 * G) >> 12);
        assertThat(r.get(1).pageCount()).isEqualTo(G >> 12);
        for (ReportData.Region block : List.of(r.get(0), r.get(2))) {
            assertThat(block.cells().length()).isEqualTo(block.shares().length);
            assertThat(block.cellPages() * block.cells().length()).isGreaterThanOrEqualTo(block.pageCount());
            assertThat(Arrays.stream(block.pages()).sum()).isEqualTo(block.pageCount());
        }
    }

    @Test
    void shouldColourMemoryByWhatHappenedToIt() {
        // an idle guest is mostly zero pages without hints, mostly free with them; a ballooned guest mostly ballooned
        assertThat(dominant(Scenario.sim(1 * G, "idle", "legacy", 1))).isEqualTo(ReportData.ZERO);
        assertThat(dominant(Scenario.sim(1 * G, "idle", "hint", 1))).isEqualTo(ReportData.FREE);
        assertThat(dominant(Scenario.sim(1 * G, "balloon:25", "balloon", 1))).isEqualTo(ReportData.BALLOONED);
        assertThat(dominant(Scenario.sim(1 * G, "memhog", "legacy", 1))).isEqualTo(ReportData.SENT);
        ReportData churn = ReportData.read(
                Recorded.run(Scenario.sim(1 * G, "compile", "hint", 1)).input());
        assertThat(churn.memory().regions().getFirst().pages()[ReportData.RESENT])
                .isPositive();
    }

    private static int dominant(Scenario s) {
        long[] pages = ReportData.read(Recorded.run(s).input())
                .memory()
                .regions()
                .getFirst()
                .pages();
        int best = 0;
        for (int i = 1; i < pages.length; i++) if (pages[i] > pages[best]) best = i;
        return best;
    }

    @Test
    void shouldMarkPhasesAndDowntime() {
        Recorded rec = Recorded.run(Scenario.sim(1 * G, "compile", "hint", 1));
        ReportData d = ReportData.read(rec.input());
        assertThat(d.phases())
                .extracting(ReportData.Span::name)
                .startsWith("SETUP", "BULK")
                .contains("STOP_AND_COPY");
        assertThat(d.downtimes()).hasSize(1);
        ReportData.Span down = d.downtimes().getFirst();
        assertThat(down.endMs() - down.startMs()).isCloseTo(rec.report.downtimeMs(), within(0.01));
        assertThat(d.checks()).isNotEmpty();
        assertThat(d.totals().hintRequests()).isEqualTo(rec.report.hints().requests());
        assertThat(d.totals().hintPages()).isEqualTo(rec.report.hints().pages());
    }

    @Test
    void shouldWarnWhenTheDowntimeExceededItsLimit() {
        // two passes at most against a guest writing faster than the link: the switch-over is forced, over a 1 ms limit
        Scenario over = Scenario.sim(512 * M, "random-write", "legacy", 1).withLimits(1_000_000_000L, 1_000_000L, 2, 0);
        Recorded rec = Recorded.run(over);
        assertThat(rec.report.downtimeMs()).isGreaterThan(1.0);
        ReportData d = ReportData.read(rec.input());
        assertThat(d.warnings())
                .filteredOn(w -> w.kind().equals("downtime"))
                .singleElement()
                .satisfies(w -> assertThat(w.text())
                        .startsWith("downtime " + String.format(java.util.Locale.ROOT, "%.1f", rec.report.downtimeMs())
                                + " ms exceeded the limit of 1.0 ms"));

        Scenario within = Scenario.sim(512 * M, "idle", "legacy", 1);
        assertThat(ReportData.read(Recorded.run(within).input()).warnings())
                .noneMatch(w -> w.kind().equals("downtime"));
    }

    @Test
    void shouldCountRetriesAsAttemptsAndMapTheLast() {
        Scenario s = Scenario.sim(512 * M, "random-write", "hint", 8).withFailAt("30%");
        ReportData d = ReportData.read(Recorded.run(s).input());
        assertThat(d.totals().attempts()).isEqualTo(2);
        assertThat(d.totals().hops()).isEqualTo(1);
        assertThat(d.totals().linkFailures()).isEqualTo(1);
        assertThat(d.totals().outcome()).isEqualTo("COMPLETED");
        assertThat(d.memory().attempt()).isEqualTo(2);
        assertThat(d.passes()).extracting(ReportData.Pass::attempt).contains(1, 2);
    }

    @Test
    void shouldGiveTheFiguresTheCommandLineGivesForAChainWithRetries() {
        // #13: on a --fail-at 40% --chain 3 run the CLI said 9 iterations and 62.3 ms of downtime, the report 2 and
        // 20.7 ms
        Scenario s =
                Scenario.sim(512 * M, "memhog", "legacy", 1).withFailAt("40%").withChain(3);
        Recorded rec = Recorded.run(s);
        RunReport want = rec.report;
        ReportData d = ReportData.read(rec.input());
        ReportData.Totals t = d.totals();
        assertThat(t.iterations()).isEqualTo(want.iterations());
        assertThat(t.downtimeMs()).isCloseTo(want.downtimeMs(), within(0.01));
        assertThat(t.timeMs()).isCloseTo(want.totalTimeMs(), within(0.01));
        assertThat(t.setupMs()).isCloseTo(want.setupTimeMs(), within(0.01));
        assertThat(t.transferredBytes()).isEqualTo(want.transferredBytes());
        assertThat(t.hops()).isEqualTo(3);
        assertThat(t.attempts()).isEqualTo(want.attempts().size()).isEqualTo(6);
        assertThat(t.linkFailures()).isEqualTo(3);
        // each hop as --json gives it under "hops", each attempt as under "attempts"
        assertThat(d.hops()).hasSize(want.hops().size());
        for (int i = 0; i < d.hops().size(); i++) {
            ReportData.Hop h = d.hops().get(i);
            RunReport w = want.hops().get(i);
            assertThat(h.hop()).isEqualTo(i + 1);
            assertThat(h.outcome().toLowerCase(java.util.Locale.ROOT)).isEqualTo(w.outcome());
            assertThat(h.timeMs()).as("hop %d time", i + 1).isCloseTo(w.totalTimeMs(), within(0.01));
            assertThat(h.downtimeMs()).isCloseTo(w.downtimeMs(), within(0.001));
            assertThat(h.setupMs()).isCloseTo(w.setupTimeMs(), within(0.001));
            assertThat(h.iterations()).isEqualTo(w.iterations());
            assertThat(h.transferredBytes()).isEqualTo(w.transferredBytes());
            assertThat(h.normal()).isEqualTo(w.pages().normal());
            assertThat(h.zero()).isEqualTo(w.pages().zero());
            assertThat(h.resent()).isEqualTo(w.pages().resent());
            assertThat(h.verify().checkedPages()).isEqualTo(w.verify().checkedPages());
            assertThat(h.attempts()).hasSize(w.attempts().size());
            for (int k = 0; k < h.attempts().size(); k++) {
                ReportData.Attempt a = h.attempts().get(k);
                RunReport.Attempt wa = w.attempts().get(k);
                assertThat(a.attempt()).isEqualTo(k + 1);
                assertThat(a.outcome().toLowerCase(java.util.Locale.ROOT)).isEqualTo(wa.outcome());
                assertThat(a.cause() != null).isEqualTo(wa.cause() != null);
                assertThat(a.timeMs()).isCloseTo(wa.timeMs(), within(0.001));
                assertThat(a.transferredBytes()).isEqualTo(wa.transferredBytes());
            }
        }
        // the link failures are on the time axis, one per failed attempt, inside that attempt
        assertThat(d.linkFailures()).hasSize(3).allSatisfy(f -> {
            ReportData.Attempt a = d.hops().get(f.hop() - 1).attempts().get(f.attempt() - 1);
            assertThat(f.cause()).isEqualTo("injected");
            assertThat(f.timeMs()).isBetween(a.startMs(), a.startMs() + a.timeMs() + 0.001);
        });
        assertThat(d.warnings()).extracting(ReportData.Warning::kind).containsExactly("link", "link", "link");
        assertThat(d.warnings()).extracting(ReportData.Warning::hop).containsExactly(1, 2, 3);
    }

    @Test
    void shouldNeverShowMoreThanTheLinkCarries() {
        // #13: bytes stamped at a step's start made the throughput peak at twice the link's rate
        for (String workload : List.of("memhog", "idle", "compile")) {
            Scenario s = Scenario.sim(1 * G, workload, "legacy", 1);
            ReportData d = ReportData.read(Recorded.run(s).input());
            double link = Math.min(s.bandwidthBitsPerSec(), d.settings().linkBitsPerSec()) / 1e9;
            assertThat(Arrays.stream(d.series().gbps()).max().orElseThrow())
                    .as(workload)
                    .isLessThanOrEqualTo(link * 1.001)
                    .isGreaterThan(link * 0.5);
        }
    }

    @Test
    void shouldSayWhenTheGuestsLastHintOrBalloonMessageCame() {
        // #13: the hints chart spanned the whole run on a shared axis, 94 % of it empty: it ends at the last message
        // now
        for (String[] c : new String[][] {{"idle", "hint"}, {"memhog", "hint"}, {"deflate-race", "hint+balloon"}}) {
            ReportData d = ReportData.read(
                    Recorded.run(Scenario.sim(1 * G, c[0], c[1], 1)).input());
            ReportData.Series s = d.series();
            assertThat(s.requestsEndMs()).as(c[0]).isPositive().isLessThanOrEqualTo(s.endMs());
            for (long[] counts : List.of(s.hintedPages(), s.freedPages(), s.inflatedPages(), s.deflatedPages())) {
                for (int i = 0; i < counts.length; i++) {
                    if (counts[i] > 0)
                        assertThat(i * s.bucketMs()).as(c[0] + " bucket " + i).isLessThanOrEqualTo(s.requestsEndMs());
                }
            }
        }
        ReportData legacy = ReportData.read(
                Recorded.run(Scenario.sim(1 * G, "idle", "legacy", 1)).input());
        assertThat(legacy.series().requestsEndMs()).isZero();
    }

    @Test
    void shouldFindTheSeedsFigureForTheSameCase() {
        Recorded idle = Recorded.run(Scenario.sim(8 * G, "idle", "hint", 1));
        assertThat(ReportData.read(idle.input()).seeds()).singleElement().satisfies(f -> {
            assertThat(f.column()).isEqualTo("optimized");
            assertThat(f.ms()).isEqualTo(259);
        });
        // a legacy run is the baseline of both seeds that measured an idle 8 GiB guest
        assertThat(SeedFigures.forRun(Recorded.run(Scenario.sim(8 * G, "idle", "legacy", 1)).manifest))
                .extracting(SeedFigures.Figure::ms)
                .containsExactly(1769.0, 1894.0);
        assertThat(SeedFigures.forRun(Recorded.run(Scenario.sim(1 * G, "idle", "hint", 1)).manifest))
                .isEmpty();
        assertThat(SeedFigures.forRun(
                        dev.ballast.core.run.RunManifest.of(Scenario.sim(16 * G, "balloon:25.0", "balloon", 1))))
                .singleElement()
                .extracting(SeedFigures.Figure::ms)
                .isEqualTo(5700.0);
    }

    @Test
    void shouldNameTheRunAndEventOfAPageRangeOutsideTheLayout() {
        Recorded rec = Recorded.run(Scenario.sim(256 * M, "idle", "legacy", 1));
        int victim = rec.first(EventType.SEND_NORMAL);
        rec.set(victim, 3, 1L << 40);
        assertThatThrownBy(() -> ReportData.read(rec.input("run-a")))
                .isInstanceOf(ReportException.class)
                .hasMessageStartingWith("run-a: event " + victim + " (SEND_NORMAL) names pages")
                .hasMessageNotContaining("\n");
        Recorded other = Recorded.run(Scenario.sim(256 * M, "idle", "legacy", 1));
        other.set(other.first(EventType.DIRTY), 2, 7);
        assertThatThrownBy(() -> ReportData.read(other.input("run-b")))
                .hasMessageContaining("names block 7, but the guest has 1");
    }

    @Test
    void shouldSayWhatIsWrongWithAnUnreadableOrEmptyStream() {
        Recorded rec = Recorded.run(Scenario.sim(256 * M, "idle", "legacy", 1));
        assertThatThrownBy(() -> ReportData.read(new RunInput("j1", rec.manifest, () -> into -> {
                    throw new IllegalStateException("damaged journal at byte 4096");
                })))
                .isInstanceOf(ReportException.class)
                .hasMessage("j1: cannot read the event after 0: damaged journal at byte 4096");
        assertThatThrownBy(() -> ReportData.read(new RunInput("j2", rec.manifest, () -> {
                    throw new IllegalArgumentException("no such journal: /tmp/nope");
                })))
                .isInstanceOf(ReportException.class)
                .hasMessage("j2: cannot read its events: no such journal: /tmp/nope");
        assertThatThrownBy(() -> ReportData.read(new RunInput("j3", rec.manifest, () -> into -> false)))
                .isInstanceOf(ReportException.class)
                .hasMessage("j3: no events (an empty or unreadable journal)");
        assertThatThrownBy(() -> ReportData.read(new RunInput("j4", rec.manifest, () -> into -> {
                    into.set(0, null, 0, 0, 0, 0);
                    return true;
                })))
                .isInstanceOf(ReportException.class)
                .hasMessageStartingWith("j4: event 0 has an unknown type");
        int phase = rec.first(EventType.PHASE); // the guest's own events may come first (RESIDENT at boot)
        rec.set(phase, 2, 99);
        assertThatThrownBy(() -> ReportData.read(rec.input("j5")))
                .hasMessageContaining("j5: event " + phase + " (PHASE) no phase 99");
    }

    @Test
    void shouldDrawAJournalCutShort() {
        Recorded rec = Recorded.run(Scenario.sim(512 * M, "compile", "legacy", 5));
        rec.events.truncate(rec.count() / 2);
        ReportData d = ReportData.read(rec.input());
        assertThat(d.totals().outcome()).isEqualTo("UNFINISHED");
        assertThat(d.verify()).isNull();
        assertThat(d.passes()).isNotEmpty();
    }
}
