package dev.ballast.sim;

import dev.ballast.core.engine.ForwardingSourceGuest;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.BalloonPolicy;
import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class SimRunTest {
    private static final long M = 1L << 20;
    private static final long G = 1L << 30;
    private static final String[] POLICIES = {"legacy", "balloon", "hint", "bitmap", "hint+balloon"};
    private static final String[] WORKLOADS = {"idle", "memhog", "compile", "random-write", "balloon:25", "deflate-race"};

    /** Hashes every event; two runs with equal digests saw the same stream. */
    static final class Digest implements EventSink {
        long h = 0xcbf29ce484222325L;
        long n;

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            for (long v : new long[] {type.id(), timeNs, a, b, c}) {
                h ^= v;
                h *= 0x100000001b3L;
            }
            n++;
        }
    }

    static RunReport run(Scenario s) {
        return new SimRun(s).run();
    }

    static RunReport run(Scenario s, SimRun.Hooks hooks) {
        return new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), hooks, EventSink.NONE, Backend.Progress.NONE).run();
    }

    @Test
    void shouldVerifyEveryPolicyOnEveryWorkload() {
        for (String w : WORKLOADS) {
            for (String p : POLICIES) {
                RunReport r = run(Scenario.sim(256 * M, w, p, 7));
                assertThat(r.outcome()).as("%s %s", w, p).isEqualTo("completed");
                assertThat(r.verify().ok()).as("%s %s: %s", w, p, r.verify().violation()).isTrue();
                assertThat(r.verify().checkedPages()).isPositive();
                RunReport.Pages pg = r.pages();
                // every page of the guest is accounted for by the first pass at least
                assertThat(pg.normal() + pg.zero() + pg.skippedBalloon() + pg.skippedFree()).isGreaterThanOrEqualTo(256 * M / 4096);
            }
        }
    }

    @Test
    void shouldGiveTheSameEventsForTheSameSeedAndOthersForAnother() {
        Scenario s = Scenario.sim(512 * M, "compile", "hint", 42);
        Digest a = new Digest();
        Digest b = new Digest();
        Digest c = new Digest();
        RunReport ra = new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, a, Backend.Progress.NONE).run();
        RunReport rb = new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, b, Backend.Progress.NONE).run();
        new SimRun(s.withSeed(43), RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, c, Backend.Progress.NONE).run();
        assertThat(a.n).isGreaterThan(100);
        assertThat(a.h).isEqualTo(b.h);
        assertThat(a.n).isEqualTo(b.n);
        assertThat(ra.totalTimeMs()).isEqualTo(rb.totalTimeMs());
        assertThat(ra.pages()).isEqualTo(rb.pages());
        assertThat(c.h).isNotEqualTo(a.h);
    }

    @ParameterizedTest
    @CsvSource({"40%,legacy", "250ms,hint", "random,hint+balloon", "5%,bitmap", "90%,balloon"})
    void shouldRetryAfterALinkFailureAndStillVerify(String failAt, String policy) {
        RunReport r = run(Scenario.sim(1 * G, "random-write,rate=50MiB/s", policy, 3).withFailAt(failAt));
        assertThat(r.attempts()).hasSizeGreaterThanOrEqualTo(2);
        assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
        assertThat(r.attempts().getLast().outcome()).isEqualTo("completed");
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    @Test
    void shouldResumeWhereTheFailedAttemptBrokeOff() {
        RunReport r = run(Scenario.sim(1 * G, "memhog,used=30%", "legacy", 3).withFailAt("50%"));
        RunReport.Attempt first = r.attempts().get(0);
        RunReport.Attempt retry = r.attempts().get(1);
        // the destination kept what it had: the retry sends far less than a full migration
        assertThat(retry.transferredBytes()).isLessThan(first.transferredBytes() + (1 * G) / 2);
        assertThat(r.verify().ok()).isTrue();
    }

    @Test
    void shouldChainMigrationsEachDestinationTheNextSource() {
        RunReport r = run(Scenario.sim(512 * M, "compile", "hint+balloon", 5).withChain(3));
        assertThat(r.hops()).hasSize(3);
        assertThat(r.hops()).allSatisfy(h -> assertThat(h.verify().ok()).as(h.verify().violation()).isTrue());
        assertThat(r.verify().ok()).isTrue();
        assertThat(r.transferredBytes()).isEqualTo(r.hops().stream().mapToLong(RunReport::transferredBytes).sum());
    }

    @Test
    void shouldChainThroughAFailure() {
        RunReport r = run(Scenario.sim(512 * M, "random-write", "hint", 5).withChain(2).withFailAt("30%"));
        assertThat(r.hops()).hasSize(2);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    @Test
    void shouldKeepPoisonOnSkippedFreePages() {
        Scenario s = Scenario.sim(512 * M, "memhog", "hint", 9).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(r.pages().skippedFree()).isGreaterThan(r.pages().normal());
    }

    @ParameterizedTest
    @CsvSource({"10", "16", "21"})
    void shouldNotResendAHintedPageThatTheGuestPoisonedBeforeItsReport(long seed) {
        // the guest frees (and so poisons: a write) pages while it migrates, then reports them free
        // and holds them; the dirty bit of the poisoning must not send them again after their fill
        Scenario s = Scenario.sim(64 * M, "compile,churn=800MiB/s,ws=30%", "hint", seed)
                .withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID).withLimits(1_000_000_000L, 5_000_000L, 8, 0);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    @Test
    void shouldSendAPageReusedAfterAFreeBitmapUnderPoisoning() {
        // the guest does not hold the pages of a free bitmap: it may write one before the walk reaches it
        Scenario s = Scenario.sim(1 * G, "compile", "bitmap", 1).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(r.pages().skippedFree()).isPositive();
    }

    @Test
    void shouldCatchFreePagesSkippedWithoutTheirPoison() {
        Scenario s = Scenario.sim(512 * M, "memhog", "hint", 9).withGuest(0xAA, true, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s, SimRun.Hooks.NONE.withPolicy(() -> new HintPolicy() {
            @Override
            protected void applyHint(PolicyContext ctx, long pfn, long pages) {
                ctx.layout().splitPfnRange(pfn, pages, (b, off, n) -> ctx.skipFree(b.index(), off, n, 0));
            }
        }));
        assertThat(r.verify().ok()).isFalse();
        assertThat(r.verify().violation()).startsWith("invariant 2 (poison preserved)");
    }

    @Test
    void shouldNotSkipTheBalloonWhenTheGuestReusesPagesWithoutTellingTheHost() {
        Scenario s = Scenario.sim(1 * G, "deflate-race,every=50ms", "balloon", 11).withGuest(0, false, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s);
        assertThat(r.balloon().skipActive()).isFalse();
        assertThat(r.pages().skippedBalloon()).isZero();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        // with MUST_TELL_HOST the same race is safe with the skip on
        RunReport told = run(s.withGuest(0, true, "pfn", Scenario.MIN_COMMAND_ID));
        assertThat(told.pages().skippedBalloon()).isPositive();
        assertThat(told.verify().ok()).as(told.verify().violation()).isTrue();
    }

    @Test
    void shouldCatchABalloonSkipThatIgnoresMustTellHost() {
        Scenario s = Scenario.sim(1 * G, "deflate-race,every=50ms", "balloon", 11).withGuest(0, false, "pfn", Scenario.MIN_COMMAND_ID);
        RunReport r = run(s, SimRun.Hooks.NONE.withPolicy(() -> new BalloonPolicy() {
            @Override public boolean skipBalloon(PolicyContext ctx) { return true; }
        }));
        assertThat(r.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    /** A guest whose hint driver is slow, so reports are still coming in when the dirty log is synced. */
    static SimRun.GuestFactory slowHints() {
        return (layout, features, bitmap, costs, v) -> new SimGuest(layout, features, bitmap, costs, v, 6, 2_000);
    }

    @Test
    void shouldCatchHintsAppliedAcrossASyncWhenHintingIsNotStopped() {
        Scenario s = Scenario.sim(1 * G, "idle", "hint", 13);
        RunReport good = run(s, SimRun.Hooks.NONE.withGuest(slowHints()));
        assertThat(good.verify().ok()).as(good.verify().violation()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withGuest(slowHints()).withPolicy(() -> new HintPolicy() {
            @Override public void beforeSync(PolicyContext ctx) { }
            @Override public void afterSync(PolicyContext ctx) { }
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 4 (hints are never stale)");
    }

    @Test
    void shouldNotReuseACommandIdOfAnEarlierMigration() {
        // each migration of one guest (the retry after a failure, the next hop) goes on from the
        // device's last command id: a report still in flight from the failed attempt is stale
        Scenario s = Scenario.sim(512 * M, "compile", "hint", 4).withFailAt("20%").withChain(2);
        java.util.List<Long> ids = new java.util.ArrayList<>();
        RunReport r = new SimRun(s, s.layout(), SimRun.Hooks.NONE, (type, t, a, b, c) -> {
            if (type == EventType.HINT_COMMAND && a >= Scenario.MIN_COMMAND_ID) ids.add(a);
        }, Backend.Progress.NONE).run();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(ids).hasSizeGreaterThan(3).doesNotHaveDuplicates();
    }

    @Test
    void shouldCatchACommandIdThatDoesNotWrap() {
        Scenario s = Scenario.sim(512 * M, "random-write,rate=400MiB/s", "hint", 3).withGuest(0, true, "pfn", 0xFFFF_FFFFL)
                .withLimits(2_000_000_000L, 20_000_000L, 30, 0);
        RunReport good = run(s);
        assertThat(good.iterations()).isGreaterThan(2);
        assertThat(good.verify().ok()).as(good.verify().violation()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withPolicy(() -> new HintPolicy() {
            @Override protected long nextCommandId(PolicyContext ctx, long previous) { return previous < 0 ? ctx.firstCommandId() : previous + 1; }
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 4").contains("0x100000000").contains("(STOP)");
    }

    @Test
    void shouldCatchHostWritesThatAreNotMarkedDirty() {
        Scenario s = Scenario.sim(256 * M, "deflate-race", "legacy", 3);
        RunReport bad = run(s, SimRun.Hooks.NONE.withGuest((layout, features, bitmap, costs, v) ->
                new SimGuest(layout, features, bitmap, costs, v, 10, 1e6) {
                    @Override protected void markHostDirty(long index) { }
                }));
        assertThat(bad.verify().violation()).startsWith("invariant 5 (every writer is tracked)");
    }

    /** The engine's view of a guest that forgets what a failed migration gives back. */
    static SourceGuest forgetfulOnFailure(SourceGuest g) {
        return new ForwardingSourceGuest(g) {
            @Override public void restoreDirty(int block, long offset, long count) { }
        };
    }

    @Test
    void shouldCatchAFailedMigrationThatConsumesTheDirtyLog() {
        Scenario s = Scenario.sim(1 * G, "random-write,rate=200MiB/s", "legacy", 21).withFailAt("1.01x");
        assertThat(run(s).verify().ok()).isTrue();
        RunReport bad = run(s, SimRun.Hooks.NONE.withSource(SimRunTest::forgetfulOnFailure));
        assertThat(bad.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    @Test
    void shouldCatchAStopAndCopyWithoutTheFinalSync() {
        Scenario s = Scenario.sim(512 * M, "random-write,rate=200MiB/s", "legacy", 2);
        RunReport bad = run(s, SimRun.Hooks.NONE.withSource(g -> new ForwardingSourceGuest(g) {
            @Override public void syncDirtyLog(PageRanges dirty) { if (running()) super.syncDirtyLog(dirty); }
        }));
        assertThat(bad.verify().violation()).startsWith("invariant 1 (no lost write)");
    }

    @Test
    void shouldRejectBadGuestRequestsAndGoOnSafely() {
        Scenario s = Scenario.sim(4 * G, "idle", "hint+balloon", 17);
        RunReport r = run(s, SimRun.Hooks.NONE.withGuest((layout, features, bitmap, costs, v) ->
                new SimGuest(layout, features, bitmap, costs, v, 10, 1e6) {
                    @Override
                    public void hintCommand(long id) {
                        super.hintCommand(id);
                        if (id >= 0x8000_0000L) {
                            injectRequest(EventType.HINT, id, (3L << 30) / 4096, 100);        // in the hole
                            injectRequest(EventType.HINT, id, 1L << 40, 100);                  // far past the end
                            injectRequest(EventType.HINT, id - 1, 0, 1000);                    // stale id
                            injectRequest(EventType.HINT, id, 0, -5);                          // negative length
                            injectRequest(EventType.BALLOON_INFLATE, 0, (5L << 30) / 4096, 1); // past the end of RAM
                            injectRequest(EventType.REJECT, 3, 0, 0);                          // garbage in a ring
                        }
                    }
                }));
        assertThat(r.hints().rejected()).isEqualTo(4);
        assertThat(r.balloon().rejected()).isEqualTo(1);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }

    @Test
    void shouldShowTheSeedsEffects() {
        RunReport idleLegacy = run(Scenario.sim(8 * G, "idle", "legacy", 1));
        RunReport idleHint = run(Scenario.sim(8 * G, "idle", "hint", 1));
        assertThat(idleHint.totalTimeMs()).isLessThanOrEqualTo(0.30 * idleLegacy.totalTimeMs());
        RunReport hogLegacy = run(Scenario.sim(8 * G, "memhog", "legacy", 1));
        RunReport hogHint = run(Scenario.sim(8 * G, "memhog", "hint", 1));
        assertThat(hogHint.transferredBytes()).isLessThanOrEqualTo(hogLegacy.transferredBytes() / 10);
        assertThat(hogHint.totalTimeMs()).isLessThanOrEqualTo(0.20 * hogLegacy.totalTimeMs());
        RunReport balloonLegacy = run(Scenario.sim(16 * G, "balloon:25", "legacy", 1));
        RunReport balloonSkip = run(Scenario.sim(16 * G, "balloon:25", "balloon", 1));
        assertThat(balloonSkip.totalTimeMs()).isLessThan(balloonLegacy.totalTimeMs());
        assertThat(balloonSkip.pages().skippedBalloon()).isEqualTo(12 * G / 4096);
    }
}
