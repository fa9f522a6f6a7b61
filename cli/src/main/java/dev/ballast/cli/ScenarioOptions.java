package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.WorkloadSpec;
import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/**
 * The options of one migration scenario, shared by {@code run} and {@code compare}. They are parsed
 * into typed values here; the {@link Scenario} and the backend check them, and a value they refuse
 * comes back as a {@code SettingException} that {@link Main} words as {@code --option VALUE: rule}.
 * The backend is found by its name alone.
 */
final class ScenarioOptions {

    @Option(
            names = "--backend",
            order = 1,
            paramLabel = "NAME",
            defaultValue = "sim",
            description =
                    "Guest backend: sim (deterministic simulation), kvm (a real guest), or any other in this build. "
                            + "Default: ${DEFAULT-VALUE}.")
    String backend;

    @Option(
            names = "--mem",
            order = 2,
            paramLabel = "SIZE",
            defaultValue = "8G",
            converter = Converters.Size.class,
            description = "Guest RAM, e.g. 512M, 8G, 1T. Default: ${DEFAULT-VALUE}.")
    long memBytes;

    @Option(
            names = "--workload",
            order = 3,
            paramLabel = "SPEC",
            defaultValue = "idle",
            converter = Converters.Workload.class,
            description = "name[:arg][,key=value...]: idle, memhog, compile, random-write, balloon:P, deflate-race. "
                    + "Default: ${DEFAULT-VALUE}.")
    WorkloadSpec workload;

    @Option(
            names = "--seed",
            order = 5,
            paramLabel = "N",
            defaultValue = "1",
            description = "Random seed of the run (not one of the seeds, the patch series of docs/seeds.md); "
                    + "the same seed and settings give the same run. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
            names = "--bandwidth",
            order = 6,
            paramLabel = "RATE",
            converter = Converters.Bandwidth.class,
            description =
                    "Migration bandwidth limit with its unit, e.g. 10Gbit, 100Mbit, 1250MB/s, between 1Mbit and 10Tbit; "
                            + "0 = unlimited. Default: 10Gbit on sim, unlimited on kvm.")
    Long bandwidthBitsPerSec;

    @Option(
            names = "--downtime",
            order = 7,
            paramLabel = "TIME",
            defaultValue = "2s",
            converter = Converters.Duration.class,
            description =
                    "Downtime limit with its unit (300ms, 2s): stop-and-copy starts when the rest fits it. Default: ${DEFAULT-VALUE}.")
    long downtimeNs;

    @Option(
            names = "--max-iterations",
            order = 8,
            paramLabel = "N",
            defaultValue = "30",
            description = "Force stop-and-copy after this many passes. Default: ${DEFAULT-VALUE}.")
    int maxIterations;

    @Option(
            names = "--time-cap",
            order = 9,
            paramLabel = "TIME",
            defaultValue = "0",
            converter = Converters.Duration.class,
            description = "Force stop-and-copy after this long; 0 = no cap. Default: none.")
    long timeCapNs;

    @Option(
            names = "--chain",
            order = 10,
            paramLabel = "N",
            defaultValue = "1",
            description =
                    "Migrations in a row (A to B to C ...), each destination the next source. Default: ${DEFAULT-VALUE}.")
    int chain;

    @Option(
            names = "--fail-at",
            order = 11,
            paramLabel = "WHEN",
            converter = Converters.FailAt.class,
            description =
                    "Fail the link once, then retry: after 40%% of the guest's pages were sent (at most 100%%), after "
                            + "1.5x as many (a later pass), 250ms into the attempt (before --time-cap, if set), or random.")
    FailPoint failAt;

    @Option(
            names = "--postcopy-after",
            order = 11,
            paramLabel = "N|auto",
            converter = Converters.PostcopyAfter.class,
            description =
                    "Switch to postcopy after pass N (1: after the bulk stage), or auto: once pre-copy is not converging "
                            + "(the rest fell by less than a tenth in a pass, or a cap would force stop-and-copy). The guest then runs on "
                            + "the destination and faults in what it lacks. Default: off (pre-copy only).")
    dev.ballast.core.engine.Postcopy postcopyAfter;

    @Option(
            names = "--postcopy-hints",
            order = 11,
            description = "Let free page hinting run with postcopy (QEMU refuses to since 2021; this finds out why).")
    boolean postcopyHints;

    @Option(
            names = "--poison",
            order = 12,
            paramLabel = "BYTE",
            defaultValue = "0",
            converter = Converters.Byte.class,
            description = "The guest poisons free pages with this byte (0xaa or 170); 0 = no poisoning.")
    int poisonByte;

    @Option(
            names = "--no-tell-host",
            order = 13,
            description = "The guest reuses deflated pages without telling the host first (no MUST_TELL_HOST).")
    boolean noTellHost;

    @Option(
            names = "--balloon-messages",
            order = 14,
            paramLabel = "pfn|bitmap",
            defaultValue = "pfn",
            converter = Converters.BalloonMessages.class,
            description = "How the balloon driver sends page ranges: PFN arrays or bitmaps. Default: ${DEFAULT-VALUE}.")
    BalloonMessages balloonMessages;

    @Option(
            names = "--hint-start-id",
            order = 15,
            paramLabel = "ID",
            defaultValue = "0x80000000",
            converter = Converters.CommandId.class,
            description = "First free page hint command id, in [0x80000000, 0xffffffff]. Default: ${DEFAULT-VALUE}.")
    long hintStartId;

    @Option(
            names = "--profile",
            order = 16,
            paramLabel = "defaults|FILE",
            description = "Cost profile for the simulator's clock: defaults, or a file. Default: the profile that "
                    + "`ballast calibrate` wrote, if there is one (see its --out), else the built-in defaults.")
    String profile;

    @Option(
            names = "--prealloc",
            order = 16,
            description =
                    "kvm: the destination VM is made, and all of its memory allocated, before each migration starts "
                            + "(as QEMU's -mem-prealloc), so pages arriving pay no first-touch fault. Default: memory is allocated "
                            + "as pages arrive, and pages never sent are never touched.")
    boolean prealloc;

    @Option(
            names = "--qemu",
            order = 16,
            paramLabel = "PATH",
            description = "qemu: your own build of qemu-system-x86_64 instead of the one on PATH.")
    String qemu;

    @Option(
            names = "--kernel",
            order = 16,
            paramLabel = "PATH",
            description = "qemu: your own guest kernel (bzImage) instead of Debian's; needs --initrd with its modules.")
    String kernel;

    @Option(
            names = "--initrd",
            order = 16,
            paramLabel = "PATH",
            description = "qemu: your own initramfs instead of Ballast's; its /init must speak Ballast's console lines "
                    + "(qemu/README.md).")
    String initrd;

    /** The backend options these settings make, with {@code destination} (null: in this process). */
    BackendOptions backendOptions(BackendOptions.Destination destination) {
        return new BackendOptions(prealloc, destination, new BackendOptions.UserBuild(qemu, kernel, initrd));
    }

    @Option(
            names = "--json",
            order = 17,
            paramLabel = "FILE",
            description = "Write the results as JSON to FILE (- for standard output).")
    String json;

    @Option(
            names = "--force",
            order = 17,
            description =
                    "Overwrite an existing output file (--json, --report) even if it is not what this command writes.")
    boolean force;

    @ArgGroup(exclusive = true, multiplicity = "0..1", order = 18)
    JournalChoice journalChoice;

    static final class JournalChoice {
        @Option(names = "--journal", order = 18, paramLabel = "DIR", description = "Directory for the run's journal.")
        Path dir;

        @Option(names = "--no-journal", order = 19, description = "Keep no journal.")
        boolean none;
    }

    JournalOptions journal() {
        if (journalChoice == null) return JournalOptions.DEFAULT;
        return journalChoice.none ? new JournalOptions(null, false) : new JournalOptions(journalChoice.dir, true);
    }

    boolean jsonToStdout() {
        return "-".equals(json);
    }

    /**
     * Checks the output files before any work starts: {@code --json} (unless standard output) and compare's
     * {@code --report}, against the profile and journal they must not overwrite.
     */
    void checkOutputs(Path report) {
        java.util.List<Path> inputs = new java.util.ArrayList<>();
        if (profile != null && !profile.equals("defaults")) inputs.add(Path.of(profile));
        if (journal().dir() != null) inputs.add(journal().dir());
        if (json != null && !jsonToStdout())
            OutputFile.check("--json", Path.of(json), OutputFile.Kind.JSON, force, inputs);
        if (report != null) OutputFile.check("--report", report, OutputFile.Kind.HTML, force, inputs);
        if (json != null
                && !jsonToStdout()
                && report != null
                && Path.of(json)
                        .toAbsolutePath()
                        .normalize()
                        .equals(report.toAbsolutePath().normalize())) {
            throw new UsageException("--json " + json + ": is also the --report file; name two files");
        }
    }

    /** The backend of that name, as registered; a usage error naming the ones there are when there is none. */
    Backend backend(Context ctx) {
        return ctx.backends().get(backend);
    }

    /** The bandwidth limit: as given, else the backend's default (10 Gbit/s on the simulator, none on KVM). */
    long bandwidth(Backend b) {
        return bandwidthBitsPerSec != null ? bandwidthBitsPerSec : b.defaultBandwidthBitsPerSec();
    }

    /** The scenario; a setting it refuses is a {@code SettingException}. */
    Scenario toScenario(Backend b, String policy, CostProfile costProfile) {
        dev.ballast.core.engine.Postcopy postcopy =
                postcopyAfter == null ? dev.ballast.core.engine.Postcopy.OFF : postcopyAfter;
        if (postcopyHints) postcopy = postcopy.withHints(true);
        return new Scenario(
                backend,
                memBytes,
                workload,
                policy,
                seed,
                bandwidth(b),
                downtimeNs,
                maxIterations,
                timeCapNs,
                chain,
                failAt,
                poisonByte,
                !noTellHost,
                balloonMessages,
                hintStartId,
                costProfile,
                postcopy);
    }
}
