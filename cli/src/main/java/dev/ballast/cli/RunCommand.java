package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code ballast run}: one migration (with its chain and retries), its summary and its JSON. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {
            "Runs one live migration and checks every invariant.",
            "",
            "Migrates a guest under one policy (with a chain of migrations and an injected link failure, if asked), "
                    + "checks every invariant of DESIGN.md at the end, and prints what it cost."},
        footer = {
            "",
            "Examples:",
            "  ballast run --mem 8G --workload idle --policy hint",
            "  ballast run --mem 1T --workload balloon:12.5 --policy balloon --json run.json",
            "  ballast run --workload memhog --policy bitmap --fail-at 40%% --chain 3"})
final class RunCommand implements Callable<Integer> {
    private final Context ctx;

    @Mixin
    ScenarioOptions options;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "legacy", order = 4,
            description = "Migration policy: legacy, balloon, hint, bitmap, hint+balloon, or any other the backend knows. "
                    + "Default: ${DEFAULT-VALUE}.")
    String policy;

    RunCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        Backend backend = ctx.backends().get(options.backend);
        CostProfiles.Resolved profile = CostProfiles.resolve(options.profile, ctx.env());
        Scenario scenario = options.toScenario(policy, profile.profile());
        PrintStream human = options.jsonToStdout() ? ctx.err() : ctx.out();
        human.println(Runs.header("run", scenario, policy, profile));
        human.flush();

        RunReport report = Runs.run(ctx, backend, scenario, "", Runs.journalDir(ctx, options.journal(), scenario, false));
        human.print(ReportText.summary(report));
        human.flush();
        if (options.json != null) Runs.writeJson(options.json, report, ctx.out());

        if (report.verify() != null && !report.verify().ok()) {
            ctx.err().println("ballast: " + Runs.violation(report));
            return ExitCodes.INVARIANT_BROKEN;
        }
        return ExitCodes.OK;
    }
}
