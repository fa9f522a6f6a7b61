package dev.ballast.cli;

import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import dev.ballast.qemu.tap.QemuStreamJournal;
import dev.ballast.qemu.tap.QmpWatch;
import dev.ballast.qemu.tap.Tap;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ballast tap}: relays one QEMU migration, validating and journaling its stream. */
@Command(
        name = "tap",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Relays one live migration between two QEMUs, forwarding the stream unchanged and journaling it.",
            "",
            "Start the destination QEMU with -incoming tcp:B, run the tap, then migrate the source to tcp:A. Every record "
                    + "of the stream is validated before it is forwarded (QEMU 7.2 or 10.0, x86-64, plain pre-copy); every page "
                    + "record becomes a journal event (block, offset, zero or data, bytes, time), with the passes and the "
                    + "stop-and-copy as the stream shows them. With --qmp (a QMP socket of the source's own for the tap: "
                    + "give QEMU -qmp twice), the journal also names QEMU's version and capabilities, and holds QEMU's "
                    + "dirty-log syncs, remaining bytes and dirty rate from query-migrate; capabilities whose stream Ballast "
                    + "cannot read (multifd, xbzrle, compress, postcopy, ...) stop the migration before any byte moves.",
            "",
            "A record the reader refuses is not forwarded: both connections are closed, one line names the record and "
                    + "its byte offset (exit code 1), and the journal ends at the last good record."
        },
        footer = {
            "",
            "Example:",
            "  qemu-system-x86_64 ... -incoming tcp:127.0.0.1:4445            # the destination",
            "  ballast tap --listen 127.0.0.1:4444 --forward 127.0.0.1:4445 --qmp /tmp/src-tap.qmp --journal runs/tap",
            "  (source QMP) migrate uri=tcp:127.0.0.1:4444",
            "  ballast inspect runs/tap --at 1000"
        })
final class TapCommand implements Callable<Integer> {
    private final Context ctx;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            required = true,
            order = 1,
            converter = Converters.HostPort.class,
            description = "Where the source migrates to (migrate tcp:HOST:PORT); port 0: any free port, printed.")
    InetSocketAddress listen;

    @Option(
            names = "--forward",
            paramLabel = "HOST:PORT",
            required = true,
            order = 2,
            converter = Converters.HostPort.class,
            description = "The destination QEMU's -incoming tcp:HOST:PORT.")
    InetSocketAddress forward;

    @Option(
            names = "--qmp",
            paramLabel = "SOCKET",
            order = 3,
            description = "A QMP unix socket of the source, for the tap alone (QMP serves one client at a time).")
    Path qmp;

    @Option(
            names = "--journal",
            paramLabel = "DIR",
            order = 4,
            description =
                    "Where the journal goes (a new directory). Default: a new folder under runs/ ($BALLAST_RUNS).")
    Path journal;

    @Option(
            names = "--accept-timeout",
            paramLabel = "TIME",
            order = 5,
            defaultValue = "0",
            converter = Converters.Duration.class,
            description = "Give up when no source has connected this long; 0 = wait until stopped. Default: wait.")
    long acceptTimeoutNs;

    TapCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() throws IOException, QmpException, InterruptedException {
        Path dir = journal != null ? journal : QemuJournals.defaultDir(ctx, "qemu-tap");
        String source = "tap " + hostPort(listen) + " -> " + hostPort(forward);
        QmpWatch watch = null;
        try (QemuJournals journals = QemuJournals.at(dir)) {
            QemuStreamJournal.Context context = QemuStreamJournal.Context.streamOnly(source);
            if (qmp != null) {
                watch = new QmpWatch(QmpClient.connect(qmp, Duration.ofSeconds(5)));
                String bad = watch.unreadable();
                if (bad != null) {
                    ctx.err().println("ballast: tap: " + bad);
                    return ExitCodes.ERROR;
                }
                context = watch.context(source);
            }
            journals.warmUp();
            Tap.warmUp(dev.ballast.core.event.EventSink.NONE);
            try (Tap tap = Tap.listen(listen)) {
                PrintStream o = ctx.out();
                o.println("tap: listening on " + hostPort(tap.address()) + ", forwarding to " + hostPort(forward)
                        + "; migrate the source to tcp:" + hostPort(tap.address()));
                o.flush();
                QemuStreamJournal j = new QemuStreamJournal(journals, context, tap.clock());
                QmpWatch w = watch;
                Tap.Result r = tap.relay(
                        forward,
                        j,
                        j,
                        () -> {
                            if (w == null) return null;
                            try {
                                String no = w.unreadable();
                                if (no == null) w.start(j, Duration.ofMillis(100));
                                return no;
                            } catch (QmpException e) {
                                return "QMP: " + e.getMessage();
                            }
                        },
                        acceptTimeoutNs);
                if (w != null) w.stop();
                String where = journals.closeAndDescribe();
                if (r.refused() != null) {
                    ctx.err()
                            .println("ballast: tap: " + r.refused().getMessage() + "; not forwarded, both connections "
                                    + "closed; the journal ends at the last good record: " + where);
                    return ExitCodes.ERROR;
                }
                if (r.failed() != null) {
                    ctx.err().println("ballast: tap: " + r.failed() + "; journal: " + where);
                    return ExitCodes.ERROR;
                }
                o.printf(
                        Locale.ROOT,
                        "tap: %,d bytes forwarded (RAM ends at byte %,d), %,d zero and %,d normal pages, "
                                + "%d passes as the stream shows them (the last is the stop-and-copy), machine %s%n",
                        r.forwardedBytes(),
                        r.ramEndOffset(),
                        r.zeroPages(),
                        r.normalPages(),
                        j.passes(),
                        r.machineType());
                o.println("journal: " + where);
                return ExitCodes.OK;
            }
        } finally {
            if (watch != null) watch.close();
        }
    }

    static String hostPort(InetSocketAddress a) {
        String h = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }
}
