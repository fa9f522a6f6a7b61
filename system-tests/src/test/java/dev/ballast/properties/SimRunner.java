package dev.ballast.properties;

import dev.ballast.core.engine.ForwardingSourceGuest;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.journal.JournalDigest;
import dev.ballast.replay.JournalRecorder;
import dev.ballast.sim.SimRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs a {@link SimCase} on the simulator, with a mutant planted, and sums what it saw. */
final class SimRunner {
    private SimRunner() {}

    /**
     * @param report    the run's report
     * @param violation the first broken invariant with its page, or null
     * @param events    events the run published
     * @param digest    the journal digest of those events ({@link JournalDigest}: what a journal of the run would end with)
     */
    record Outcome(
            SimCase simCase,
            RunReport report,
            String violation,
            long events,
            long digest,
            List<String> violations,
            KnownIssues known) {
        boolean completed() {
            return report.outcome().equals("completed");
        }

        /** The first violation that no known issue explains, or null. */
        String unexplained() {
            for (String v : violations) if (known.explain(v) == null) return v;
            return null;
        }

        /** The number of the first broken invariant, or 0. */
        int invariant() {
            Invariant i = Invariant.named(violation);
            return i == null ? 0 : i.number();
        }
    }

    static Outcome run(SimCase c) {
        return run(c, Mutants.active(), EventSink.NONE);
    }

    static Outcome run(SimCase c, Mutant m, EventSink extra) {
        JournalDigest digest = new JournalDigest();
        long[] events = {0};
        RamLayout layout = c.layout().ramLayout();
        KnownIssues known = new KnownIssues(layout);
        EventSink sink = (type, timeNs, a, b, cc) -> {
            digest.update(type.id(), timeNs, a, b, cc);
            events[0]++;
            known.publish(type, timeNs, a, b, cc);
            extra.publish(type, timeNs, a, b, cc);
        };
        SimRun run = new SimRun(c.scenario(), layout, hooks(c, m), sink, Backend.Progress.NONE);
        long t0 = System.nanoTime();
        RunReport r;
        try {
            r = run.run();
        } finally {
            Tally.migration(System.nanoTime() - t0);
        }
        return new Outcome(
                c,
                r,
                r.verify().violation(),
                events[0],
                digest.value(),
                run.violations().all(),
                known);
    }

    /** The run's hooks: the case's guest, its cancel, then the mutant. */
    static SimRun.Hooks hooks(SimCase c, Mutant m) {
        SimRun.Hooks h = SimRun.Hooks.NONE.withGuest(s -> new CaseGuest(s, c.guest()));
        if (c.faults().cancelAt() >= 0) {
            Canceller k =
                    new Canceller((long) (c.faults().cancelAt() * c.layout().pages()));
            h = h.withEngine(k::engine).withSource(k::wrap);
        }
        return m.plant(h, c);
    }

    /** The manifest a journal of the case carries. */
    static RunManifest manifest(SimCase c) {
        return RunManifest.of(c.scenario(), c.layout().ramLayout());
    }

    /** Runs the case again with its events recorded into a journal in {@code dir}. */
    static Outcome journal(SimCase c, Mutant m, Path dir, Map<String, String> extra) {
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.put("case", c.toString());
        meta.put("mutant", m.name());
        try (JournalRecorder rec = new JournalRecorder(dir, manifest(c), meta)) {
            return run(c, m, rec);
        }
    }

    /**
     * Cancels the run's first migration once the engine has read this many guest pages (a wrapper
     * of the guest sees them go by; the engine stops at its next step), as a user's cancel would.
     */
    static final class Canceller {
        private final long afterPages;
        private MigrationEngine first;
        private int engines;
        private long read;
        private boolean done;

        Canceller(long afterPages) {
            this.afterPages = Math.max(1, afterPages);
        }

        void engine(MigrationEngine e) {
            if (engines++ == 0) first = e;
        }

        SourceGuest wrap(SourceGuest g) {
            return new ForwardingSourceGuest(g) {
                @Override
                public long classify(int block, long offset, long max) {
                    long r = super.classify(block, offset, max);
                    read += Math.abs(r);
                    if (!done && engines == 1 && read >= afterPages) {
                        done = true;
                        first.cancel();
                    }
                    return r;
                }
            };
        }
    }
}
