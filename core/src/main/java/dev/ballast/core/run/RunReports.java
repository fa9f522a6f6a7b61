package dev.ballast.core.run;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.RunFold;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Building {@link RunReport}s from a hop's statistics (a {@link dev.ballast.core.event.RunFold}
 * over its events): what every backend does alike.
 */
public final class RunReports {
    private RunReports() {}

    /**
     * One migration (a hop of a chain) from its attempts' summed statistics {@code sum} and its
     * last attempt's {@code last}; {@code hopNs} runs from the first attempt's start to the end.
     * Without the hop's {@link RunFold.Figures} the switch-over figures are reported as not known.
     */
    public static RunReport hop(
            Scenario s,
            String timeModel,
            EngineStats sum,
            EngineStats last,
            long hopNs,
            RunReport.Verify verify,
            List<RunReport.Attempt> attempts) {
        return hop(s, timeModel, sum, last, hopNs, verify, attempts, null);
    }

    /** A hop, with the figures of its fold ({@link RunFold#figures()}) for the switch-over and QEMU's counters. */
    public static RunReport hop(
            Scenario s,
            String timeModel,
            EngineStats sum,
            EngineStats last,
            long hopNs,
            RunReport.Verify verify,
            List<RunReport.Attempt> attempts,
            RunFold.Figures f) {
        return hop(s, timeModel, sum, last, hopNs, verify, attempts, f, null);
    }

    /** As above, for a migration that switched to postcopy ({@code postcopy} null: it did not). */
    public static RunReport hop(
            Scenario s,
            String timeModel,
            EngineStats sum,
            EngineStats last,
            long hopNs,
            RunReport.Verify verify,
            List<RunReport.Attempt> attempts,
            RunFold.Figures f,
            RunReport.Postcopy postcopy) {
        long limitNs = s.engineConfig().downtimeLimitNs();
        boolean exceeded = last.phase() == Phase.COMPLETED && last.downtimeNs() > limitNs;
        long expectedNs = f == null ? -1 : f.expectedDowntimeNs();
        long downtimeBytes = f == null ? 0 : f.downtimeBytes();
        RunReport.Ram ram = ram(
                s,
                sum.transferredBytes(),
                f == null ? -1 : f.remainingBytes(),
                sum.pagesZero(),
                sum.pagesNormal(),
                f == null ? -1 : f.dirtyPagesRate(),
                hopNs / 1e6 - last.setupNs() / 1e6,
                f == null ? sum.syncs() : f.dirtySyncCount(),
                downtimeBytes);
        return new RunReport(
                s.backend(),
                s.workload().toString(),
                s.policy(),
                s.guestMemBytes(),
                s.seed(),
                timeModel,
                last.phase().name().toLowerCase(Locale.ROOT),
                hopNs / 1e6,
                last.downtimeNs() / 1e6,
                expectedNs < 0 ? -1 : expectedNs / 1e6,
                limitNs / 1e6,
                exceeded,
                last.setupNs() / 1e6,
                sum.iterations(),
                sum.transferredBytes(),
                ram,
                new RunReport.Pages(
                        sum.pagesNormal(), sum.pagesZero(), sum.skippedBalloon(), sum.skippedFree(), sum.resent()),
                new RunReport.Hints(
                        sum.hintRequests(), sum.hintRanges(), sum.hintPages(), sum.skippedFree(), sum.hintRejected()),
                new RunReport.Balloon(
                        sum.balloonInflated(),
                        sum.balloonDeflated(),
                        sum.balloonRejected(),
                        sum.balloonSkipActive(),
                        s.balloonSkipOff()),
                verify,
                new RunReport.Journal(null, 0, null),
                attempts,
                List.of(),
                0,
                null,
                postcopy);
    }

    /** QEMU's {@code ram} counters; {@code transferMs} is the time after setup, which {@code mbps} and {@code pages-per-second} divide by. */
    private static RunReport.Ram ram(
            Scenario s,
            long transferred,
            long remaining,
            long zero,
            long normal,
            long dirtyPagesRate,
            double transferMs,
            long syncs,
            long downtimeBytes) {
        double seconds = transferMs / 1e3;
        return new RunReport.Ram(
                transferred,
                remaining,
                s.guestMemBytes(),
                zero,
                normal,
                normal * RamLayout.PAGE_SIZE,
                dirtyPagesRate,
                seconds > 0 ? transferred * 8.0 / seconds / 1e6 : 0,
                syncs,
                RamLayout.PAGE_SIZE,
                seconds > 0 ? Math.round((normal + zero) / seconds) : 0,
                transferred - downtimeBytes,
                downtimeBytes);
    }

    /**
     * A whole run: a single migration as it is, or a chain as the sums over its hops with each
     * hop's own report under {@code hops}. {@code violation} is the run's first broken invariant.
     */
    public static RunReport run(Scenario s, List<RunReport> hops, String violation, double wallMs) {
        if (s.chain() == 1 && hops.size() == 1) return withWall(hops.getFirst(), wallMs);
        double total = 0, downtime = 0, setup = 0, expected = 0, transferMs = 0;
        boolean exceeded = false, expectedKnown = true;
        long syncs = 0, downtimeBytes = 0;
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
            expected += h.expectedDowntimeMs();
            expectedKnown &= h.expectedDowntimeMs() >= 0;
            exceeded |= h.downtimeExceeded();
            transferMs += h.totalTimeMs() - h.setupTimeMs();
            syncs += h.ram().dirtySyncCount();
            downtimeBytes += h.ram().downtimeBytes();
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
        return new RunReport(
                s.backend(),
                s.workload().toString(),
                s.policy(),
                s.guestMemBytes(),
                s.seed(),
                last.timeModel(),
                completed ? "completed" : last.outcome(),
                total,
                downtime,
                expectedKnown ? expected : -1,
                last.downtimeLimitMs(),
                exceeded,
                setup,
                iterations,
                bytes,
                ram(
                        s,
                        bytes,
                        last.ram().remaining(),
                        pages.zero(),
                        pages.normal(),
                        last.ram().dirtyPagesRate(),
                        transferMs,
                        syncs,
                        downtimeBytes),
                pages,
                hints,
                balloon,
                new RunReport.Verify(
                        verify.checkedPages(), verify.mismatchedPages(), verify.ok() && violation == null, violation),
                new RunReport.Journal(null, 0, null),
                attempts,
                hops,
                wallMs);
    }

    public static RunReport withWall(RunReport r, double wallMs) {
        return copy(r, r.journal(), r.hops(), wallMs);
    }

    public static RunReport withJournal(RunReport r, RunReport.Journal j) {
        return copy(r, j, r.hops(), r.wallTimeMs());
    }

    /** The report with these hops' reports in place of its own. */
    public static RunReport withHops(RunReport r, List<RunReport> hops) {
        return copy(r, r.journal(), hops, r.wallTimeMs());
    }

    private static RunReport copy(RunReport r, RunReport.Journal j, List<RunReport> hops, double wallMs) {
        return new RunReport(
                r.backend(),
                r.workload(),
                r.policy(),
                r.guestMemBytes(),
                r.seed(),
                r.timeModel(),
                r.outcome(),
                r.totalTimeMs(),
                r.downtimeMs(),
                r.expectedDowntimeMs(),
                r.downtimeLimitMs(),
                r.downtimeExceeded(),
                r.setupTimeMs(),
                r.iterations(),
                r.transferredBytes(),
                r.ram(),
                r.pages(),
                r.hints(),
                r.balloon(),
                r.verify(),
                j,
                r.attempts(),
                hops,
                wallMs,
                r.vmm(),
                r.postcopy());
    }
}
