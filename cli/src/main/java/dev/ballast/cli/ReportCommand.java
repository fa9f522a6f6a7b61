package dev.ballast.cli;

import dev.ballast.replay.JournalQueries;
import dev.ballast.report.HtmlReport;
import dev.ballast.report.RunInput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ballast report JOURNAL... -o report.html}: pictures of one run, or of several side by side. */
@Command(
        name = "report",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Draws runs from their journals into one self-contained HTML file.",
            "",
            "For one run: the figures `ballast run` prints (per hop of a chain and per attempt of a hop), warnings "
                    + "(a failed check, a link failure, a migration that did not complete), pages sent per pass by kind, "
                    + "pages left and throughput over time with link failures marked, phases and downtime, hints and "
                    + "balloon over time, a map of guest memory coloured by what happened to it, the settings, the verify "
                    + "result and the seeds' figure for the same case. For several runs (a compare), the same side by "
                    + "side on shared axes, with a summary table; identical runs are named so. The file opens with no network."
        },
        footer = {
            "",
            "Examples:",
            "  ballast report runs/20261122-*-hint-s1 -o hint.html",
            "  ballast compare --mem 8G --workload memhog --report compare.html"
        })
final class ReportCommand implements Callable<Integer> {
    private final Context ctx;

    @Parameters(arity = "1..*", paramLabel = "JOURNAL", description = "Journal directories, one per run.")
    List<Path> journals;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FILE",
            defaultValue = "report.html",
            description = "The HTML file to write. Default: ${DEFAULT-VALUE}.")
    Path output;

    @Option(names = "--force", description = "Overwrite FILE even if it exists and is not an HTML file.")
    boolean force;

    ReportCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        for (Path j : journals) JournalCommands.existing(j);
        OutputFile.check("-o", output, OutputFile.Kind.HTML, force, journals);
        write(journals, output);
        ctx.out()
                .println("wrote " + output + " (" + journals.size() + " run" + (journals.size() == 1 ? "" : "s") + ")");
        return ExitCodes.OK;
    }

    /** Draws the runs in these journals into {@code out}. */
    static void write(List<Path> journals, Path out) {
        List<JournalQueries.ReportSource> sources = new ArrayList<>();
        try {
            List<RunInput> runs = new ArrayList<>();
            for (Path j : journals) {
                JournalQueries.ReportSource s = new JournalQueries.ReportSource(j);
                sources.add(s);
                String label = journals.size() == 1 ? null : s.manifest().policy();
                runs.add(new RunInput(label, s.manifest(), s::events));
            }
            HtmlReport.write(runs, out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        } finally {
            for (JournalQueries.ReportSource s : sources) s.close();
        }
    }
}
