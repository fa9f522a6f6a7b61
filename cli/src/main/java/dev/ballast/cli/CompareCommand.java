package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ballast compare}: the same scenario and seed under every policy, as a table. */
@Command(
        name = "compare",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Runs one scenario under every policy and prints a table.",
            "",
            "The same scenario and seed run under every built-in policy (or those of --policies); the table shows "
                    + "time, downtime, iterations, bytes and pages sent or skipped, and each policy's time and bytes as a "
                    + "percentage of legacy's."
        },
        footer = {
            "",
            "Examples:",
            "  ballast compare --mem 8G --workload idle",
            "  ballast compare --mem 16G --workload balloon:25 --policies legacy,balloon --json cmp.json"
        })
final class CompareCommand implements Callable<Integer> {
    /** The built-in policies, in the order the table shows them. */
    static final List<String> BUILT_IN = List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon");

    private final Context ctx;

    @Mixin
    ScenarioOptions options;

    @Option(
            names = "--policies",
            paramLabel = "A,B,...",
            split = ",",
            order = 4,
            description =
                    "The policies to compare, in this order. Default: legacy, balloon, hint, bitmap, hint+balloon (on qemu: legacy, hint).")
    List<String> policies;

    @Option(
            names = "--report",
            paramLabel = "FILE",
            order = 5,
            description = "Also draw the runs side by side into this HTML file (needs their journals; with --repeat, "
                    + "the last round's).")
    Path report;

    @Option(
            names = "--repeat",
            paramLabel = "N",
            order = 6,
            defaultValue = "1",
            description =
                    "Rounds of every policy, interleaved: round r starts with the r-th policy, so no policy always "
                            + "runs first. With N > 1 the table shows each figure's median and range, and time and bytes as the "
                            + "median of each round's ratio to legacy. Default: ${DEFAULT-VALUE}.")
    int repeat;

    @Option(
            names = "--no-warm-up",
            order = 7,
            description = "On a backend that measures wall time (kvm), skip the untimed migration of every policy that "
                    + "otherwise runs first, so that no timed run pays for a cold JVM.")
    boolean noWarmUp;

    CompareCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        Backend backend = options.backend(ctx);
        List<String> chosen = policies == null
                ? backend.comparedPolicies()
                : policies.stream().map(String::trim).filter(p -> !p.isEmpty()).toList();
        if (chosen.isEmpty()) throw new UsageException("--policies: no policy named");
        if (repeat < 1 || repeat > 1000) throw new UsageException("--repeat " + repeat + ": must be in [1, 1000]");
        Set<String> seen = new HashSet<>();
        for (String p : chosen) {
            if (!seen.add(p)) {
                throw new UsageException("--policies " + String.join(",", policies) + ": " + p
                        + " is named twice; name each policy once");
            }
        }
        if (report != null && !options.journal().enabled())
            throw new UsageException("--report draws from the runs' journals: drop --no-journal");
        options.checkOutputs(report);

        CostProfiles.Resolved profile = CostProfiles.resolve(options.profile, ctx.env());
        BackendOptions backendOptions = options.backendOptions(null);
        List<Scenario> scenarios = new ArrayList<>();
        for (String p : chosen) {
            Scenario s;
            try {
                s = options.toScenario(backend, p, profile.profile());
                backend.check(s, backendOptions);
            } catch (SettingException e) {
                if (!e.name().equals("policy")) throw e;
                // the user typed --policies, not --policy
                throw new UsageException("--policies " + String.join(",", chosen) + ": " + p + ": " + e.rule());
            }
            scenarios.add(s);
        }
        Runs.sayWhatIsOff(ctx, scenarios);

        PrintStream human = options.jsonToStdout() ? ctx.err() : ctx.out();
        human.println(Runs.header(
                "compare", backend, scenarios.getFirst(), String.join(", ", chosen), profile, backendOptions));
        human.flush();

        boolean warmUp = backend.measuresWallTime() && !noWarmUp;
        if (warmUp) {
            // A cold JVM compiles the page path during the first migration: as legacy ran first, it looked slower
            // than it is, and every other policy looked better. Warm every policy's path first, untimed.
            for (int i = 0; i < scenarios.size(); i++) {
                Runs.run(
                        ctx,
                        backend,
                        scenarios.get(i),
                        backendOptions,
                        "[warm-up " + chosen.get(i) + " " + (i + 1) + "/" + chosen.size() + "]",
                        null);
            }
        }
        int k = scenarios.size();
        List<List<RunReport>> rounds = new ArrayList<>();
        for (int round = 0; round < repeat; round++) {
            RunReport[] byPolicy = new RunReport[k];
            for (int j = 0; j < k; j++) {
                int i = (j + round) % k;
                String label = "[" + chosen.get(i) + " " + (round * k + j + 1) + "/" + repeat * k + "]";
                Path journalDir = Runs.journalDir(ctx, options.journal(), scenarios.get(i), true);
                if (journalDir != null && repeat > 1 && options.journal().dir() != null) {
                    journalDir = journalDir.resolveSibling(journalDir.getFileName() + "-r" + (round + 1));
                }
                byPolicy[i] = Runs.run(ctx, backend, scenarios.get(i), backendOptions, label, journalDir);
            }
            rounds.add(List.of(byPolicy));
        }
        List<RunReport> reports = rounds.getLast();
        List<RunReport> all = rounds.stream().flatMap(List::stream).toList();
        human.println();
        human.print(repeat == 1 ? ReportText.compareTable(reports) : ReportText.compareRounds(rounds));
        human.println(reports.getFirst().timeModel() + " time"
                + (repeat == 1 ? "" : ", " + repeat + " interleaved rounds")
                + (warmUp ? ", after an untimed warm-up of every policy" : "")
                + "; total wall time "
                + ReportText.ms(all.stream().mapToDouble(RunReport::wallTimeMs).sum()) + " ms");
        human.flush();
        if (options.json != null)
            Runs.writeJson(options.json, repeat == 1 ? reports : Runs.roundsJson(rounds), ctx.out());
        if (report != null) {
            ReportCommand.write(
                    reports.stream().map(r -> Path.of(r.journal().path())).toList(), report);
            human.println("wrote " + report);
        }

        int code = ExitCodes.OK;
        for (RunReport r : all) {
            if (r.verify() != null && !r.verify().ok()) {
                ctx.err().println("ballast: " + Runs.violation(r));
                code = ExitCodes.INVARIANT_BROKEN;
            }
        }
        return code;
    }
}
