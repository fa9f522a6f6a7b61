package dev.ballast.replay;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunManifest;
import dev.ballast.journal.Checkpoint;
import dev.ballast.journal.EventDissector;
import dev.ballast.journal.EventRecord;
import dev.ballast.journal.JournalReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Questions asked of a journal once it is written: its events as a stream, its manifest, its
 * replay, one page's history, the state at an event, and how two journals differ. The answers are
 * data; how a terminal shows them is the command line's ({@code dev.ballast.cli}). A run's journal
 * is written by {@link JournalRecorder}.
 */
public final class JournalQueries {
    private JournalQueries() {}

    /** The events of a journal, from where its reader stands, as an {@link EventStream}. */
    public static EventStream stream(JournalReader reader) {
        return into -> {
            if (!reader.next()) return false;
            EventRecord r = reader.record();
            EventType t = r.type();
            into.set(reader.eventNumber(), t, r.timeNs(), r.a(), r.b(), r.c());
            return true;
        };
    }

    /**
     * Opens a journal for a report: its manifest now, its events each time the supplier is called
     * (from the first event; each call opens a reader that closes when its stream ends). Readers
     * still open are closed by {@link ReportSource#close()}.
     */
    public static final class ReportSource implements AutoCloseable {
        private final Path dir;
        private final RunManifest manifest;
        private final List<JournalReader> open = new ArrayList<>();

        public ReportSource(Path dir) {
            this.dir = dir;
            try (JournalReader r = JournalReader.open(dir)) {
                this.manifest = JournalQueries.manifest(r);
            }
        }

        public RunManifest manifest() {
            return manifest;
        }

        public EventStream events() {
            JournalReader r = JournalReader.open(dir);
            open.add(r);
            EventStream s = stream(r);
            return into -> {
                if (s.next(into)) return true;
                r.close();
                open.remove(r);
                return false;
            };
        }

        @Override
        public void close() {
            for (JournalReader r : open) r.close();
            open.clear();
        }
    }

    public static RunManifest manifest(JournalReader reader) {
        return RunManifest.fromMetadata(reader.header().metadata());
    }

    /** Replays a journal: every decision re-made and checked. */
    public static Replay.Result replay(Path dir) {
        try (JournalReader r = JournalReader.open(dir)) {
            return Replay.run(manifest(r), stream(r));
        }
    }

    /** The state of the run just after event {@code n}: from the last checkpoint at or before it, then forward. */
    public static RunState stateAt(Path dir, long n) {
        try (JournalReader r = JournalReader.open(dir)) {
            if (n < 0 || n >= r.events()) {
                throw new IllegalArgumentException(
                        "event " + n + " is not in this journal (it holds events 0 to " + (r.events() - 1) + ")");
            }
            RunManifest m = manifest(r);
            Checkpoint cp = r.lastCheckpointAtOrBefore(n);
            RunState s = cp == null ? null : RunState.restore(m, cp.payload());
            long from = s == null ? 0 : cp.eventNumber();
            if (s == null) s = new RunState(m); // no checkpoint, or one of an earlier format: from the start
            if (from <= n) {
                r.seek(from);
                EventStream es = stream(r);
                Event e = new Event();
                while (es.next(e)) {
                    s.apply(e);
                    if (e.number >= n) break;
                }
            }
            return s;
        }
    }

    /** One page's history. */
    public static List<String> pageHistory(Path dir, long pfn) {
        try (JournalReader r = JournalReader.open(dir)) {
            return PageHistory.of(manifest(r), stream(r), pfn);
        }
    }

    /**
     * Header keys that say when and with what a journal was written, not what ran: they never make two runs differ
     * ({@code qemu.source}: the file or the tap's addresses a real QEMU's stream came through).
     */
    private static final Set<String> BOOKKEEPING = Set.of("createdAt", "ballastVersion", "javaVersion", "qemu.source");

    /** A header key whose values differ; {@code bookkeeping} when it says when or with what a journal was written. */
    public record HeaderChange(String key, String left, String right, boolean bookkeeping) {}

    /** The first event where the streams differ, dissected; null on the side whose events had ended. */
    public record EventChange(long number, String left, String right) {}

    /** A line of {@link RunState#describe()} at the end that differs between the runs. */
    public record StateChange(String left, String right) {}

    /**
     * What one pass of one migration sent: pages with data, zero pages, bytes on the wire. Pass 0 is the setup; the
     * stop-and-copy is the last pass of its migration.
     */
    public record PassFigures(String phase, long data, long zero, long bytes) {
        static final PassFigures NONE = new PassFigures("-", 0, 0, 0);
    }

    /** A pass whose figures differ between the runs; {@link PassFigures#NONE} on the side that had no such pass. */
    public record PassChange(int migration, int pass, PassFigures left, PassFigures right) {}

    /**
     * What {@link #diff} found, only what differs: the header keys, the first differing event (null
     * when the streams are the same, {@code events} long), the end states' differing lines, and the
     * passes whose figures differ (a simulated run and a real QEMU's stream of the same scenario are
     * compared pass by pass).
     */
    public record Diff(
            List<HeaderChange> header,
            EventChange firstEvent,
            long events,
            List<StateChange> atEnd,
            List<PassChange> passes) {
        /** Whether the runs differ: their settings or their events (when and with which version each journal was written does not count). */
        public boolean differ() {
            return firstEvent != null || header.stream().anyMatch(h -> !h.bookkeeping());
        }
    }

    /** Where two journals first differ, and the figures in which their runs differ at the end. */
    public static Diff diff(Path left, Path right) {
        List<HeaderChange> header = new ArrayList<>();
        List<StateChange> atEnd = new ArrayList<>();
        EventChange first = null;
        try (JournalReader a = JournalReader.open(left);
                JournalReader b = JournalReader.open(right)) {
            RunManifest ma = manifest(a);
            RunManifest mb = manifest(b);
            Map<String, String> ha = a.header().metadata();
            Map<String, String> hb = b.header().metadata();
            Set<String> keys = new LinkedHashSet<>(ha.keySet());
            keys.addAll(hb.keySet());
            for (String k : keys) {
                if (Objects.equals(ha.get(k), hb.get(k))) continue;
                header.add(new HeaderChange(k, ha.get(k), hb.get(k), BOOKKEEPING.contains(k)));
            }
            RunState sa = new RunState(ma);
            RunState sb = new RunState(mb);
            Passes pa = new Passes(sa);
            Passes pb = new Passes(sb);
            EventStream ea = stream(a);
            EventStream eb = stream(b);
            Event x = new Event();
            Event y = new Event();
            boolean moreA = ea.next(x);
            boolean moreB = eb.next(y);
            while (moreA || moreB) {
                if (first == null && (moreA != moreB || !x.sameAs(y.type, y.timeNs, y.a, y.b, y.c))) {
                    first = new EventChange(
                            moreA ? x.number : y.number,
                            moreA ? EventDissector.toString(x.number, x.type, x.timeNs, x.a, x.b, x.c) : null,
                            moreB ? EventDissector.toString(y.number, y.type, y.timeNs, y.a, y.b, y.c) : null);
                }
                if (moreA) {
                    sa.apply(x);
                    pa.after();
                    moreA = ea.next(x);
                }
                if (moreB) {
                    sb.apply(y);
                    pb.after();
                    moreB = eb.next(y);
                }
            }
            if (first != null) {
                String[] la = sa.describe().split("\n");
                String[] lb = sb.describe().split("\n");
                for (int i = 0; i < Math.max(la.length, lb.length); i++) {
                    String l = i < la.length ? la[i] : "";
                    String r = i < lb.length ? lb[i] : "";
                    if (!l.equals(r)) atEnd.add(new StateChange(l, r));
                }
            }
            List<PassChange> passes = new ArrayList<>();
            if (first != null) {
                Map<String, PassFigures> fa = pa.end();
                Map<String, PassFigures> fb = pb.end();
                Set<String> all = new LinkedHashSet<>(fa.keySet());
                all.addAll(fb.keySet());
                for (String k : all) {
                    PassFigures l = fa.getOrDefault(k, PassFigures.NONE);
                    PassFigures r = fb.getOrDefault(k, PassFigures.NONE);
                    if (l.equals(r)) continue;
                    String[] f = k.split(" ", 2);
                    passes.add(new PassChange(Integer.parseInt(f[0]), Integer.parseInt(f[1]), l, r));
                }
            }
            return new Diff(header, first, a.events(), atEnd, passes);
        }
    }

    /**
     * A run's figures pass by pass, from its state as events are applied: a pass ends when the migration or the pass
     * number changes. Reads the counters only then, so it costs a comparison per event.
     */
    private static final class Passes {
        private final RunState s;
        private final Map<String, PassFigures> done = new java.util.LinkedHashMap<>();
        private int migration;
        private int pass;
        private String phase = "";
        private long data;
        private long zero;
        private long bytes;

        Passes(RunState s) {
            this.s = s;
        }

        /** After each event applied to the state. */
        void after() {
            if (s.migration() == migration && s.iteration() == pass) return;
            close();
            migration = s.migration();
            pass = s.iteration();
            phase = String.valueOf(s.phase());
        }

        private void close() {
            var st = s.fold().runStats();
            long d = st.pagesNormal() - data;
            long z = st.pagesZero() - zero;
            long b = st.transferredBytes() - bytes;
            if (d != 0 || z != 0 || b != 0) {
                // a pass already seen (a phase change within it) adds to its figures
                done.merge(
                        migration + " " + pass,
                        new PassFigures(phase, d, z, b),
                        (o, n) -> new PassFigures(
                                o.phase(), o.data() + n.data(), o.zero() + n.zero(), o.bytes() + n.bytes()));
            }
            data = st.pagesNormal();
            zero = st.pagesZero();
            bytes = st.transferredBytes();
        }

        Map<String, PassFigures> end() {
            close();
            return done;
        }
    }
}
