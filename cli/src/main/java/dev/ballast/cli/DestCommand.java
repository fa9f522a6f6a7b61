package dev.ballast.cli;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.DriverOptions;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.wire.WireSecret;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.kvm.source.HopMigration;
import dev.ballast.kvm.sys.Signals;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ballast dest}: a destination for kvm runs in another process. */
@Command(
        name = "dest",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Receives KVM migrations over TCP, one at a time, until stopped (SIGINT or SIGTERM). Other sources are not "
                    + "kept waiting by a slow one: each connection must authenticate and send its HELLO within "
                    + "--handshake-timeout; one that then finds a migration under way waits as long, and is told the "
                    + "destination is busy.",
            "",
            "For each migration it creates the destination VM from the handshake's layout, installs the pages, starts the "
                    + "guest, lets it check itself and reports the verdict to the source; then it forwards the guest "
                    + "(--forward) or stops it, and waits for the next. A migration that fails is kept, so the source's "
                    + "retry resumes it. One line on standard output per event."
        },
        footer = {
            "",
            "Examples:",
            "  ballast dest --listen 127.0.0.1:7400",
            "  ballast dest --listen 127.0.0.1:7400 --prealloc 4G",
            "  ballast dest --listen 127.0.0.1:7400 --journal runs/dest",
            "  ballast dest --listen 10.0.0.2:7400 --secret-file /etc/ballast/secret",
            "  ballast dest --listen 127.0.0.1:7401 --forward 127.0.0.1:7402 --policy hint"
        })
final class DestCommand implements Callable<Integer> {
    private final Context ctx;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            required = true,
            order = 1,
            converter = Converters.HostPort.class,
            description =
                    "Address to listen on (port 0: any free port, printed). Other than loopback, --secret-file is required.")
    InetSocketAddress listen;

    @Option(
            names = "--secret-file",
            paramLabel = "FILE",
            order = 2,
            description =
                    "Sources must prove this shared secret (challenge and response, HMAC-SHA256; at least 16 bytes, mode 600). "
                            + "Also proven to the --forward destination.")
    Path secretFile;

    @Option(
            names = "--timeout",
            paramLabel = "TIME",
            order = 3,
            defaultValue = "30s",
            converter = Converters.Duration.class,
            description =
                    "A peer that moves no byte this long while this end waits on it is stalled and dropped; 0 = never. "
                            + "Default: ${DEFAULT-VALUE}.")
    long timeoutNs;

    @Option(
            names = "--handshake-timeout",
            paramLabel = "TIME",
            order = 4,
            defaultValue = "5s",
            converter = Converters.Duration.class,
            description =
                    "A source must authenticate and send its HELLO this long after it connects, else it is dropped; a source "
                            + "that finds another migration under way waits this long for it. Default: ${DEFAULT-VALUE}.")
    long handshakeTimeoutNs;

    @Option(
            names = "--max-mem",
            paramLabel = "SIZE",
            order = 4,
            defaultValue = "256G",
            converter = Converters.Size.class,
            description = "The largest guest accepted. Default: ${DEFAULT-VALUE}.")
    long maxMemBytes;

    @Option(
            names = "--prealloc",
            paramLabel = "SIZE",
            order = 5,
            defaultValue = "0",
            converter = Converters.Size.class,
            description =
                    "The RAM size of the guests expected: the VM for one is made, with all of its memory allocated, before "
                            + "the first migration and again after each (as QEMU's -mem-prealloc), so pages arriving pay no first-touch "
                            + "fault. 0 = none: memory is allocated as pages arrive, and pages never sent are never touched. Default: none.")
    long preallocBytes;

    @Option(
            names = "--forward",
            paramLabel = "HOST:PORT",
            order = 6,
            converter = Converters.HostPort.class,
            description = "Migrate every guest that verified here on to this destination (a chain across processes).")
    InetSocketAddress forward;

    @Option(
            names = "--policy",
            paramLabel = "NAME",
            order = 7,
            defaultValue = "legacy",
            description = "Only with --forward: the policy of the onward migration. Default: ${DEFAULT-VALUE}.")
    String policy;

    @Option(
            names = "--bandwidth",
            paramLabel = "RATE",
            order = 8,
            defaultValue = "0",
            converter = Converters.Bandwidth.class,
            description = "Only with --forward: its bandwidth limit; 0 = unlimited. Default: unlimited.")
    long bandwidthBitsPerSec;

    @Option(
            names = "--downtime",
            paramLabel = "TIME",
            order = 9,
            defaultValue = "2s",
            converter = Converters.Duration.class,
            description = "Only with --forward: its downtime limit. Default: ${DEFAULT-VALUE}.")
    long downtimeNs;

    @Option(
            names = "--journal",
            paramLabel = "DIR",
            order = 10,
            description =
                    "Journal each migration served into a directory of its own under DIR (created if missing), named "
                            + "SESSION-N: this destination's events (postcopy faults, placements, zero placements), for "
                            + "ballast inspect and report. Default: none.")
    Path journal;

    @Spec
    CommandSpec spec;

    DestCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() throws InterruptedException {
        if (timeoutNs < 0) throw new UsageException("--timeout: must be >= 0");
        Policies.factory(policy); // an unknown policy is refused whether or not it is used
        if (forward == null) {
            for (String onward : new String[] {"--policy", "--bandwidth", "--downtime"}) {
                if (spec.commandLine().getParseResult().hasMatchedOption(onward)) {
                    throw new UsageException(onward + " "
                            + spec.commandLine()
                                    .getParseResult()
                                    .matchedOption(onward)
                                    .originalStringValues()
                                    .getLast() + ": only with --forward (it is the onward migration's)");
                }
            }
        } else {
            Scenario.checkBandwidth(bandwidthBitsPerSec);
        }
        WireSecret secret;
        try {
            secret = secretFile == null ? null : WireSecret.read(secretFile);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--secret-file " + e.getMessage(), e);
        }
        if (secret != null) secret.warmUp(); // not inside the migration's handshake
        DestJournals journals = journal == null ? null : DestJournals.at(journal);
        if (journals != null) {
            try {
                DestJournals.warmUp(); // not inside the first migration's handshake
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        DestinationServer.Forward fwd = null;
        if (forward != null) {
            EngineConfig cfg = new EngineConfig(
                    bandwidthBitsPerSec / 8,
                    downtimeNs,
                    30,
                    0,
                    Scenario.MIN_COMMAND_ID,
                    4096,
                    65_536,
                    CostProfile.defaults().pageHeaderBytes());
            fwd = new DestinationServer.Forward(
                    forward, secret, new HopMigration.Settings(cfg, policy, secret, DriverOptions.DEFAULTS, -1, -1));
        }
        DateTimeFormatter clock = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");
        DestinationServer.Options options = new DestinationServer.Options(
                listen,
                secret,
                timeoutNs,
                maxMemBytes,
                preallocBytes,
                fwd,
                null,
                line -> {
                    synchronized (ctx.out()) {
                        ctx.out().println(clock.format(LocalTime.now()) + " ballast dest: " + line);
                        ctx.out().flush();
                    }
                },
                handshakeTimeoutNs,
                DestinationServer.DEFAULT_MAX_CONNECTIONS);
        CountDownLatch stop = new CountDownLatch(1);
        Signals.handle("INT", stop::countDown);
        Signals.handle("TERM", stop::countDown);
        DestinationServer server;
        try {
            server = DestinationServer.start(options, journals);
        } catch (IOException e) {
            // one line naming the address (the exception's own message does not)
            String why = e instanceof java.net.BindException
                            && e.getMessage() != null
                            && e.getMessage().contains("in use")
                    ? "address already in use (another process listens there)"
                    : e.getMessage();
            throw new UncheckedIOException(
                    new IOException("--listen " + listen.getHostString() + ":" + listen.getPort() + ": " + why, e));
        }
        try {
            stop.await();
            options.log().accept("stopping");
        } finally {
            server.close();
        }
        options.log().accept("stopped");
        return ExitCodes.OK;
    }
}
