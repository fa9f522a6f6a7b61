package dev.ballast.replay;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.RunManifest;
import dev.ballast.journal.Checkpoint;
import dev.ballast.journal.EventDissector;
import dev.ballast.journal.EventRecord;
import dev.ballast.journal.JournalReader;
import dev.ballast.journal.JournalWriter;
import dev.ballast.journal.StateTracker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the command line does with journals: record a run with checkpoints, replay it, tell one
 * page's history, show the state at an event, and compare two journals.
 */
public final class Journals {
    private Journals() { }

    /** Events between two state checkpoints: {@code --at} reads at most this many after a seek. */
    public static final long CHECKPOINT_EVERY = 1L << 18;

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
                this.manifest = Journals.manifest(r);
            }
        }

        public RunManifest manifest() { return manifest; }

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

    /**
     * A run's journal, with checkpoints of the run's state every {@link #CHECKPOINT_EVERY} events:
     * a {@link RunState} follows the events on the journal's consumer thread, so producers only
     * publish into the ring.
     */
    public static final class Recorder implements EventSink, AutoCloseable {
        private final JournalWriter writer;

        public Recorder(Path dir, RunManifest manifest, Map<String, String> extra) {
            Map<String, String> meta = new java.util.LinkedHashMap<>(manifest.toMetadata());
            meta.putAll(extra);
            RunState state = new RunState(manifest);
            StateTracker tracker = new StateTracker() {
                @Override
                public void onEvent(long number, EventType type, long timeNs, long a, long b, long c) {
                    state.apply(number, type, timeNs, a, b, c);
                }

                @Override public byte[] checkpoint() { return state.snapshot(); }

                @Override public long interval() { return CHECKPOINT_EVERY; }
            };
            this.writer = JournalWriter.create(dir, meta, JournalWriter.Settings.defaults().withTracker(tracker));
        }

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            writer.publish(type, timeNs, a, b, c);
        }

        public Path directory() { return writer.directory(); }

        /** Closes the journal; then {@link #events()} and {@link #digest()} are final. */
        @Override
        public void close() {
            writer.close();
        }

        public long events() { return writer.events(); }

        public long digest() { return writer.digest(); }
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
                throw new IllegalArgumentException("--at " + n + ": the journal holds events 0 to " + (r.events() - 1));
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
    private static final java.util.Set<String> BOOKKEEPING = java.util.Set.of("createdAt", "ballastVersion", "javaVersion",
            "qemu.source");

    /**
     * What {@link #diff} found: its lines, and whether the runs differ (their settings or their events; when and
     * with which version each journal was written does not count).
     */
    public record Diff(List<String> lines, boolean differ) { }

    /** Where two journals first differ, and the figures in which their runs differ at the end; only what differs. */
    public static Diff diff(Path left, Path right) {
        List<String> out = new ArrayList<>();
        boolean differ = false;
        try (JournalReader a = JournalReader.open(left); JournalReader b = JournalReader.open(right)) {
            RunManifest ma = manifest(a);
            RunManifest mb = manifest(b);
            Map<String, String> ha = a.header().metadata();
            Map<String, String> hb = b.header().metadata();
            java.util.Set<String> keys = new java.util.LinkedHashSet<>(ha.keySet());
            keys.addAll(hb.keySet());
            for (String k : keys) {
                if (java.util.Objects.equals(ha.get(k), hb.get(k))) continue;
                out.add("header " + k + ": " + ha.get(k) + " | " + hb.get(k));
                if (!BOOKKEEPING.contains(k)) differ = true;
            }
            RunState sa = new RunState(ma);
            RunState sb = new RunState(mb);
            EventStream ea = stream(a);
            EventStream eb = stream(b);
            Event x = new Event();
            Event y = new Event();
            long first = -1;
            boolean moreA = ea.next(x);
            boolean moreB = eb.next(y);
            while (moreA || moreB) {
                if (first < 0 && (moreA != moreB || !x.sameAs(y.type, y.timeNs, y.a, y.b, y.c))) {
                    first = moreA ? x.number : y.number;
                    out.add("first difference at event " + first + ":");
                    out.add("  " + (moreA ? EventDissector.toString(x.number, x.type, x.timeNs, x.a, x.b, x.c) : "(no more events)"));
                    out.add("  " + (moreB ? EventDissector.toString(y.number, y.type, y.timeNs, y.a, y.b, y.c) : "(no more events)"));
                }
                if (moreA) {
                    sa.apply(x);
                    moreA = ea.next(x);
                }
                if (moreB) {
                    sb.apply(y);
                    moreB = eb.next(y);
                }
            }
            if (first < 0) {
                out.add("the event streams are the same (" + a.events() + " events)");
            } else {
                differ = true;
                String[] la = sa.describe().split("\n");
                String[] lb = sb.describe().split("\n");
                out.add("at the end, where they differ:");
                for (int i = 0; i < Math.max(la.length, lb.length); i++) {
                    String l = i < la.length ? la[i] : "";
                    String r = i < lb.length ? lb[i] : "";
                    if (l.equals(r)) continue;
                    out.add(String.format(java.util.Locale.ROOT, "  %-60s | %s", l, r.substring(Math.min(14, r.length()))));
                }
            }
        }
        return new Diff(out, differ);
    }
}
