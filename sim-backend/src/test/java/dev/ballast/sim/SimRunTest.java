package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.POLICIES;
import static dev.ballast.sim.SimRuns.WORKLOADS;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimRuns.Digest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The simulated run as a whole: every policy on every workload, determinism, retries, chains, the seeds' effects. */
class SimRunTest {
    @Test
    void shouldVerifyEveryPolicyOnEveryWorkload() {
        for (String w : WORKLOADS) {
            for (String p : POLICIES) {
                RunReport r = run(Scenario.sim(256 * M, w, p, 7));
                assertThat(r.outcome()).as("%s %s", w, p).isEqualTo("completed");
                assertThat(r.verify().ok())
                        .as("%s %s: %s", w, p, r.verify().violation())
                        .isTrue();
                assertThat(r.verify().checkedPages()).isPositive();
                RunReport.Pages pg = r.pages();
                // every page of the guest is accounted for by the first pass at least
                assertThat(pg.normal() + pg.zero() + pg.skippedBalloon() + pg.skippedFree())
                        .isGreaterThanOrEqualTo(256 * M / 4096);
            }
        }
    }

    @Test
    void shouldGiveTheSameEventsForTheSameSeedAndOthersForAnother() {
        Scenario s = Scenario.sim(512 * M, "compile", "hint", 42);
        Digest a = new Digest();
        Digest b = new Digest();
        Digest c = new Digest();
        RunReport ra =
                new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, a, Backend.Progress.NONE).run();
        RunReport rb =
                new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, b, Backend.Progress.NONE).run();
        new SimRun(s.withSeed(43), RamLayout.pcLike(s.guestMemBytes()), SimRun.Hooks.NONE, c, Backend.Progress.NONE)
                .run();
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
        RunReport r =
                run(Scenario.sim(1 * G, "random-write,rate=50MiB/s", policy, 3).withFailAt(failAt));
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
        assertThat(r.hops())
                .allSatisfy(h ->
                        assertThat(h.verify().ok()).as(h.verify().violation()).isTrue());
        assertThat(r.verify().ok()).isTrue();
        assertThat(r.transferredBytes())
                .isEqualTo(
                        r.hops().stream().mapToLong(RunReport::transferredBytes).sum());
    }

    @Test
    void shouldChainThroughAFailure() {
        RunReport r = run(
                Scenario.sim(512 * M, "random-write", "hint", 5).withChain(2).withFailAt("30%"));
        assertThat(r.hops()).hasSize(2);
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
