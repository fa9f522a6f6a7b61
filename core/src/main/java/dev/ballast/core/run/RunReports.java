package dev.ballast.core.run;

import dev.ballast.core.engine.EngineStats;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Building {@link RunReport}s from a hop's statistics (a {@link dev.ballast.core.event.RunFold}
 * over its events): what every backend does alike.
 */
public final class RunReports {
    private RunReports() { }

    /**
     * One migration (a hop of a chain) from its attempts' summed statistics {@code sum} and its
     * last attempt's {@code last}; {@code hopNs} runs from the first attempt's start to the end.
     */
    public static RunReport hop(Scenario s, String timeModel, EngineStats sum, EngineStats last, long hopNs,
                                RunReport.Verify verify, List<RunReport.Attempt> attempts) {
        return new RunReport(s.backend(), s.workload().toString(), s.policy(), s.guestMemBytes(), s.seed(), timeModel,
                last.phase().name().toLowerCase(Locale.ROOT), hopNs / 1e6, last.downtimeNs() / 1e6, last.setupNs() / 1e6,
                sum.iterations(), sum.transferredBytes(),
                new RunReport.Pages(sum.pagesNormal(), sum.pagesZero(), sum.skippedBalloon(), sum.skippedFree(), sum.resent()),
                new RunReport.Hints(sum.hintRequests(), sum.hintRanges(), sum.hintPages(), sum.skippedFree(), sum.hintRejected()),
                new RunReport.Balloon(sum.balloonInflated(), sum.balloonDeflated(), sum.balloonRejected(), sum.balloonSkipActive(),
                        s.balloonSkipOff()),
                verify, new RunReport.Journal(null, 0, null), attempts, List.of(), 0);
    }

    /**
     * A whole run: a single migration as it is, or a chain as the sums over its hops with each
     * hop's own report under {@code hops}. {@code violation} is the run's first broken invariant.
     */
    public static RunReport run(Scenario s, List<RunReport> hops, String violation, double wallMs) {
        if (s.chain() == 1 && hops.size() == 1) return withWall(hops.getFirst(), wallMs);
        double total = 0, downtime = 0, setup = 0;
        int iterations = 0;
        long bytes = 0;
        RunReport.Pages pages = RunReport.Pages.NONE;
        RunReport.Hints hints = RunReport.Hints.NONE;
        RunReport.Balloon balloon = null;
        RunReport.Verify verify = null;
        List<RunReport.Attempt> attempts = new ArrayList<>();
        for (RunReport h : hops) {
            total += h.totalTimeMs();
            downtime += h.downtimeMs();
            setup += h.setupTimeMs();
            iterations += h.iterations();
            bytes += h.transferredBytes();
            pages = pages.plus(h.pages());
            hints = hints.plus(h.hints());
            balloon = balloon == null ? h.balloon() : balloon.plus(h.balloon());
            verify = verify == null ? h.verify() : verify.plus(h.verify());
            attempts.addAll(h.attempts());
        }
        RunReport last = hops.getLast();
        boolean completed = hops.size() == s.chain() && last.outcome().equals("completed");
        return new RunReport(s.backend(), s.workload().toString(), s.policy(), s.guestMemBytes(), s.seed(), last.timeModel(),
                completed ? "completed" : last.outcome(), total, downtime, setup, iterations, bytes, pages, hints, balloon,
                new RunReport.Verify(verify.checkedPages(), verify.mismatchedPages(), verify.ok() && violation == null, violation),
                new RunReport.Journal(null, 0, null), attempts, hops, wallMs);
    }

    public static RunReport withWall(RunReport r, double wallMs) {
        return new RunReport(r.backend(), r.workload(), r.policy(), r.guestMemBytes(), r.seed(), r.timeModel(), r.outcome(),
                r.totalTimeMs(), r.downtimeMs(), r.setupTimeMs(), r.iterations(), r.transferredBytes(), r.pages(), r.hints(),
                r.balloon(), r.verify(), r.journal(), r.attempts(), r.hops(), wallMs);
    }

    public static RunReport withJournal(RunReport r, RunReport.Journal j) {
        return new RunReport(r.backend(), r.workload(), r.policy(), r.guestMemBytes(), r.seed(), r.timeModel(), r.outcome(),
                r.totalTimeMs(), r.downtimeMs(), r.setupTimeMs(), r.iterations(), r.transferredBytes(), r.pages(), r.hints(),
                r.balloon(), r.verify(), j, r.attempts(), r.hops(), r.wallTimeMs());
    }
}
