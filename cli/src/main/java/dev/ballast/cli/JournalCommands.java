package dev.ballast.cli;

import dev.ballast.journal.EventDissector;
import dev.ballast.journal.JournalDigest;
import dev.ballast.journal.JournalException;
import dev.ballast.journal.JournalReader;
import dev.ballast.replay.JournalQueries;
import dev.ballast.replay.Replay;
import dev.ballast.replay.RunState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ballast replay}, {@code inspect} and {@code diff}: what a journal can tell. */
final class JournalCommands {
    private JournalCommands() {}

    static Path existing(Path dir) {
        if (!Files.isDirectory(dir)) throw new UsageException("no journal at " + dir + " (a journal is a directory)");
        return dir;
    }

    @Command(
            name = "replay",
            mixinStandardHelpOptions = true,
            usageHelpAutoWidth = true,
            description = {
                "Re-runs the engine from a journal alone and checks every decision.",
                "",
                "No guest and no KVM: the inputs the engine consumed (clock readings, dirty-log syncs, guest requests, "
                        + "page contents, link failures) are fed back in the order it consumed them. Prints one line when "
                        + "every decision matches; otherwise the first event that differs, expected and actual.",
                "",
                "A journal of a real QEMU's migration (ballast tap, ingest --journal) holds QEMU's decisions, which no "
                        + "engine of Ballast's can re-make: replay says so in one line and checks the journal's digest. So "
                        + "for a destination's journal (ballast dest --journal), which holds no decisions.",
            },
            footer = {
                "",
                "Exit codes:",
                "  0  every decision matches (also for a journal cut short: up to its last complete event)",
                "  1  the journal is damaged or unreadable (the position is named)",
                "  2  bad command line",
                "  4  the replay diverged (the event is named)"
            })
    static final class ReplayCommand implements Callable<Integer> {
        private final Context ctx;

        @Parameters(index = "0", paramLabel = "JOURNAL", description = "The journal's directory.")
        Path journal;

        ReplayCommand(Context ctx) {
            this.ctx = ctx;
        }

        @Override
        public Integer call() {
            Path dir = existing(journal);
            String digest;
            boolean cutShort;
            String cutAt;
            long total;
            boolean qemu;
            boolean dest;
            try (JournalReader r = JournalReader.open(dir)) {
                cutShort = r.cutShort();
                cutAt = r.cutShortAt();
                total = r.events();
                digest = cutShort ? null : JournalDigest.toHex(r.verifyDigest());
                qemu = "qemu".equals(r.header().get(dev.ballast.core.run.RunManifest.KEY_BACKEND));
                dest = DestJournals.DESTINATION.equals(r.header().get(DestJournals.KEY_ROLE));
            }
            if (qemu || dest) {
                // a real QEMU's run: its decisions were QEMU's own, there is no engine to re-make them; a destination
                // (ballast dest --journal) makes none, it records its guest's faults and placements
                ctx.out()
                        .println((qemu
                                        ? "a QEMU run: its decisions were QEMU's and cannot be re-made; "
                                        : "a destination's journal (ballast dest): a destination makes no decisions to "
                                                + "re-make; ")
                                + (cutShort
                                        ? "the journal reads to event " + total + " and was cut short there"
                                                + (cutAt == null ? "" : " (" + cutAt + ")")
                                        : "the journal is intact: " + total + " events, digest " + digest
                                                + " verified"));
                return ExitCodes.OK;
            }
            long t0 = System.nanoTime();
            Replay.Result res = JournalQueries.replay(dir);
            double ms = (System.nanoTime() - t0) / 1e6;
            if (!res.ok()) {
                Replay.Divergence d = res.divergence();
                ctx.err()
                        .println("ballast: replay diverged at event " + d.eventNumber() + ": the journal has "
                                + d.expected() + ", the replay gave " + d.actual());
                return ExitCodes.REPLAY_DIVERGED;
            }
            String rate = String.format(Locale.ROOT, "%.1f M events/s", res.events() / Math.max(ms, 0.001) / 1e3);
            if (cutShort || res.truncated()) {
                ctx.out()
                        .println("replayed " + res.events() + " of " + total + " events (" + res.migrations()
                                + " migration(s)): every decision matches; the journal was cut short there"
                                + (cutAt == null ? "" : " (" + cutAt + ")") + " [" + rate + "]");
            } else {
                ctx.out()
                        .println("replayed " + res.events() + " events (" + res.migrations()
                                + " migration(s)): every decision matches, digest " + digest + " [" + rate + "]");
            }
            return ExitCodes.OK;
        }
    }

    @Command(
            name = "inspect",
            mixinStandardHelpOptions = true,
            usageHelpAutoWidth = true,
            description = {
                "Tells one page's history, or the state of the run at one event.",
                "",
                "--page PFN: every time the page was dirtied, hinted, ballooned, sent or skipped, and why; the tool for "
                        + "'why was this page sent twice, skipped, lost?'. --at EVENT: phase, pass, pages left and counters "
                        + "just after that event, found through the journal's index and state checkpoints."
            },
            footer = {
                "",
                "Examples:",
                "  ballast inspect runs/…-hint-s1 --page 0x1234",
                "  ballast inspect runs/…-hint-s1 --at 100000"
            })
    static final class InspectCommand implements Callable<Integer> {
        private final Context ctx;

        @Parameters(index = "0", paramLabel = "JOURNAL", description = "The journal's directory.")
        Path journal;

        @ArgGroup(exclusive = true, multiplicity = "1")
        What what;

        static final class What {
            @Option(
                    names = "--page",
                    paramLabel = "PFN",
                    description = "A guest page frame number (0x… hex or decimal).")
            String page;

            @Option(names = "--at", paramLabel = "EVENT", description = "An event number.")
            Long at;

            @Option(
                    names = "--events",
                    paramLabel = "FROM[:COUNT]",
                    description = "Print events from FROM (20 by default).")
            String events;
        }

        InspectCommand(Context ctx) {
            this.ctx = ctx;
        }

        @Override
        public Integer call() {
            Path dir = existing(journal);
            try (JournalReader r = JournalReader.open(dir)) {
                if (what.at != null && (what.at < 0 || what.at >= r.events())) {
                    throw new UsageException("--at " + what.at + ": the journal holds events 0 to " + (r.events() - 1));
                }
                if (what.page != null && JournalQueries.manifest(r).layout().indexOfPfn(parsePfn(what.page)) < 0) {
                    throw new UsageException("--page " + what.page + ": not a RAM page of this guest ("
                            + JournalQueries.manifest(r).layout() + ")");
                }
            }
            if (what.page != null) {
                for (String line : JournalQueries.pageHistory(dir, parsePfn(what.page)))
                    ctx.out().println(line);
            } else if (what.at != null) {
                long t0 = System.nanoTime();
                RunState s = JournalQueries.stateAt(dir, what.at);
                double ms = (System.nanoTime() - t0) / 1e6;
                ctx.out().print(s.describe());
                ctx.out().printf(Locale.ROOT, "(found in %.1f ms)%n", ms);
            } else {
                printEvents(dir, what.events);
            }
            return ExitCodes.OK;
        }

        private void printEvents(Path dir, String spec) {
            String[] p = spec.split(":");
            long from;
            long count;
            try {
                from = Long.parseLong(p[0]);
                count = p.length > 1 ? Long.parseLong(p[1]) : 20;
            } catch (NumberFormatException e) {
                throw new UsageException("--events " + spec + ": expected FROM or FROM:COUNT");
            }
            if (count < 1)
                throw new UsageException(
                        "--events " + spec + ": COUNT must be at least 1 (FROM or FROM:COUNT, e.g. 20:10)");
            try (JournalReader r = JournalReader.open(dir)) {
                if (from < 0 || from >= r.events())
                    throw new UsageException(
                            "--events " + spec + ": the journal holds events 0 to " + (r.events() - 1));
                r.seek(from);
                StringBuilder sb = new StringBuilder();
                for (long i = 0; i < count && r.next(); i++) {
                    sb.setLength(0);
                    ctx.out().println(EventDissector.dissect(r.eventNumber(), r.record(), sb));
                }
            }
        }

        static long parsePfn(String s) {
            try {
                String t = s.trim().toLowerCase(Locale.ROOT);
                return t.startsWith("0x") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
            } catch (NumberFormatException e) {
                throw new UsageException("--page " + s + ": expected a page frame number, 0x1234 or 4660");
            }
        }
    }

    /** diff's exit code when the runs differ, as diff(1)'s. */
    static final int DIFF_DIFFER = 1;
    /** diff's exit code for trouble (a damaged or unreadable journal), as diff(1)'s. */
    static final int DIFF_TROUBLE = 2;
    /** The width of the label that begins each line of {@link RunState#describe()}. */
    static final int STATE_LABEL_WIDTH = 14;

    @Command(
            name = "diff",
            mixinStandardHelpOptions = true,
            usageHelpAutoWidth = true,
            description = {
                "Says where two journals first differ and how their runs differ.",
                "",
                "For the same scenario under two policies, two seeds, or a run and its replay, or a simulated run and a "
                        + "real QEMU's journal of it (run --backend qemu, tap, ingest). Prints the settings that "
                        + "differ, the first event that differs, the end figures that differ, and the passes whose pages "
                        + "with data, zero pages or bytes differ; nothing that is the same. "
                        + "When and with which version each journal was written is shown but does not make the runs differ."
            },
            footer = {
                "",
                "Exit codes (as diff(1)):",
                "  0  the runs are the same: same settings, same events",
                "  1  the runs differ",
                "  2  bad command line, or a journal is damaged or unreadable (the position is named)"
            })
    static final class DiffCommand implements Callable<Integer> {
        private final Context ctx;

        @Parameters(index = "0", paramLabel = "JOURNAL_A")
        Path left;

        @Parameters(index = "1", paramLabel = "JOURNAL_B")
        Path right;

        DiffCommand(Context ctx) {
            this.ctx = ctx;
        }

        @Override
        public Integer call() {
            Path a = existing(left);
            Path b = existing(right);
            JournalQueries.Diff d;
            try {
                d = JournalQueries.diff(a, b);
            } catch (JournalException e) {
                // as diff(1): trouble is 2, so that 1 always means "the runs differ"
                ctx.err().println("ballast: " + Main.oneLine(e.getMessage()));
                return DIFF_TROUBLE;
            }
            for (String line : lines(d)) ctx.out().println(line);
            return d.differ() ? DIFF_DIFFER : ExitCodes.OK;
        }

        private static String figures(JournalQueries.PassFigures f) {
            return String.format(
                    Locale.ROOT, "%-13s %,d data, %,d zero, %,d B", f.phase(), f.data(), f.zero(), f.bytes());
        }

        /** The diff as the terminal shows it: the header keys that differ, the first differing event, the end figures side by side. */
        static List<String> lines(JournalQueries.Diff d) {
            List<String> out = new ArrayList<>();
            for (JournalQueries.HeaderChange h : d.header())
                out.add("header " + h.key() + ": " + h.left() + " | " + h.right());
            JournalQueries.EventChange e = d.firstEvent();
            if (e == null) {
                out.add("the event streams are the same (" + d.events() + " events)");
                return out;
            }
            out.add("first difference at event " + e.number() + ":");
            out.add("  " + (e.left() != null ? e.left() : "(no more events)"));
            out.add("  " + (e.right() != null ? e.right() : "(no more events)"));
            out.add("at the end, where they differ:");
            for (JournalQueries.StateChange c : d.atEnd()) {
                String r = c.right();
                // the right column drops the line's label, which the left one already shows
                out.add(String.format(
                        Locale.ROOT, "  %-60s | %s", c.left(), r.substring(Math.min(STATE_LABEL_WIDTH, r.length()))));
            }
            if (!d.passes().isEmpty()) out.add("pass by pass, where they differ (pages with data, zero pages, bytes):");
            for (JournalQueries.PassChange p : d.passes()) {
                String pass = (p.migration() > 1 ? "migration " + p.migration() + " " : "") + "pass " + p.pass();
                out.add(String.format(Locale.ROOT, "  %-8s %s | %s", pass, figures(p.left()), figures(p.right())));
            }
            return out;
        }
    }
}
