package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.wire.WireSecret;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ballast run}: one migration (with its chain and retries), its summary and its JSON. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Runs one live migration and checks every invariant.",
            "",
            "Migrates a guest under one policy (with a chain of migrations and an injected link failure, if asked), "
                    + "checks every invariant at the end (docs/invariants.md in the repository), and prints what it cost."
        },
        footer = {
            "",
            "Examples:",
            "  ballast run --mem 8G --workload idle --policy hint",
            "  ballast run --mem 1T --workload balloon:12.5 --policy balloon --json run.json",
            "  ballast run --workload memhog --policy bitmap --fail-at 40%% --chain 3",
            "  ballast run --backend kvm --mem 1G --policy hint --dest 127.0.0.1:7400"
        })
final class RunCommand implements Callable<Integer> {
    private final Context ctx;

    @Mixin
    ScenarioOptions options;

    @Option(
            names = "--policy",
            paramLabel = "NAME",
            defaultValue = "legacy",
            order = 4,
            description =
                    "Migration policy (docs/policies.md): legacy, balloon, hint, bitmap, hint+balloon, balloon-zero, report, hint+report, or any other the backend knows. "
                            + "Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(
            names = "--dest",
            paramLabel = "HOST:PORT",
            order = 30,
            converter = Converters.HostPort.class,
            description = "Migrate to a `ballast dest` at this address over TCP (kvm backend).")
    java.net.InetSocketAddress dest;

    @Option(
            names = "--secret-file",
            paramLabel = "FILE",
            order = 31,
            description = "With --dest: prove this shared secret (at least 16 bytes, mode 600) to the destination.")
    java.nio.file.Path secretFile;

    @Option(
            names = "--timeout",
            paramLabel = "TIME",
            order = 32,
            defaultValue = "30s",
            converter = Converters.Duration.class,
            description =
                    "With --dest: a destination that moves no byte this long while the source waits on it is stalled; 0 = never. "
                            + "Default: ${DEFAULT-VALUE}.")
    long timeoutNs;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    RunCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        options.checkOutputs(null);
        Backend backend = options.backend(ctx);
        CostProfiles.Resolved profile = CostProfiles.resolve(options.profile, ctx.env());
        Scenario scenario = options.toScenario(backend, policy, profile.profile());
        BackendOptions backendOptions = options.backendOptions(destination());
        backend.check(scenario, backendOptions);
        Runs.sayWhatIsOff(ctx, List.of(scenario));
        PrintStream human = options.jsonToStdout() ? ctx.err() : ctx.out();
        human.println(Runs.header("run", backend, scenario, policy, profile, backendOptions));
        human.flush();

        RunReport report = Runs.run(
                ctx, backend, scenario, backendOptions, "", Runs.journalDir(ctx, options.journal(), scenario, false));
        human.print(ReportText.summary(report));
        human.flush();
        if (options.json != null) Runs.writeJson(options.json, report, ctx.out());

        if (report.verify() != null && !report.verify().ok()) {
            ctx.err().println("ballast: " + Runs.violation(report));
            return ExitCodes.INVARIANT_BROKEN;
        }
        if (dest != null && !report.outcome().equals("completed")) {
            var attempts = report.attempts();
            ctx.err()
                    .println("ballast: the migration to " + dest.getHostString() + ":" + dest.getPort() + " "
                            + report.outcome() + " after " + attempts.size() + " attempt(s)"
                            + (attempts.isEmpty()
                                    ? ""
                                    : ": " + attempts.getLast().cause()));
            return ExitCodes.ERROR;
        }
        return ExitCodes.OK;
    }

    /** The {@code ballast dest} to migrate to, with the secret to prove to it; null for a destination in this process. */
    private BackendOptions.Destination destination() {
        if (dest == null) {
            for (String onlyWithDest : List.of("--secret-file", "--timeout")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(onlyWithDest)) {
                    throw new UsageException(
                            onlyWithDest + ": only with --dest (it concerns a `ballast dest` in another process)");
                }
            }
            return null;
        }
        WireSecret secret;
        try {
            secret = secretFile == null ? null : WireSecret.read(secretFile);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--secret-file " + e.getMessage(), e);
        }
        BackendOptions.Destination d = new BackendOptions.Destination(dest, secret, timeoutNs);
        if (secret != null) secret.warmUp(); // not inside the migration's handshake
        return d;
    }
}
