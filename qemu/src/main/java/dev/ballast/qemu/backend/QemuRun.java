package dev.ballast.qemu.backend;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.ManifestSink;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.qemu.MachineSpec;
import dev.ballast.qemu.MigrationRelay;
import dev.ballast.qemu.MigrationStats;
import dev.ballast.qemu.Qemu;
import dev.ballast.qemu.QemuMachine;
import dev.ballast.qemu.StreamCapabilities;
import dev.ballast.qemu.guest.GuestImage;
import dev.ballast.qemu.guest.QemuUnavailableException;
import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.Tee;
import dev.ballast.qemu.tap.QemuManifest;
import dev.ballast.qemu.tap.QemuStreamJournal;
import dev.ballast.qemu.tap.QmpWatch;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One migration of a real Linux guest between two QEMU processes that Ballast starts: the source boots Ballast's
 * {@code /init} (or the user's), which stamps the pages its workload uses; the destination waits with
 * {@code -incoming}; the stream goes through a {@link MigrationRelay} whose reader validates every record before
 * forwarding it and counts what QEMU sent; after QEMU reports {@code completed} and the destination runs, the host
 * writes {@code CHECK} to the destination's console and reads the guest's verdict on every stamp (invariant 1 on
 * the real thing). Every file of the run (command lines, consoles, QEMU's logs) is in a directory that is deleted
 * when the run succeeds and named in the error when it does not.
 */
final class QemuRun {
    /** QEMU's {@code max-bandwidth} for "unlimited": 0 there would mean no limit only in some versions. */
    static final long UNLIMITED_BYTES_PER_SEC = 1L << 40;

    private static final Pattern VERDICT =
            Pattern.compile("BALLAST VERDICT ok=(\\d) checked=(\\d+) mismatched=(\\d+) first=(\\S+) ?(.*)");
    /** What a Linux kernel prints when it crashes or finds its own data structures corrupt. */
    private static final String[] CRASH = {
        "Kernel panic",
        "kernel BUG",
        "BUG: ",
        "list_del corruption",
        "list_add corruption",
        "general protection fault",
        "Oops"
    };

    private final Scenario scenario;
    private final BackendOptions.UserBuild build;
    private final EventSink events;
    private final Backend.Progress progress;
    private final QemuStreamVisitor tap;

    QemuRun(Scenario scenario, BackendOptions.UserBuild build, EventSink events, Backend.Progress progress) {
        this(scenario, build, events, progress, new QemuStreamVisitor() {});
    }

    /** With {@code tap} told of every record after Ballast's own visitors (tests). */
    QemuRun(
            Scenario scenario,
            BackendOptions.UserBuild build,
            EventSink events,
            Backend.Progress progress,
            QemuStreamVisitor tap) {
        this.scenario = scenario;
        this.build = build;
        this.events = events;
        this.progress = progress;
        this.tap = tap;
    }

    /**
     * The run's journal: a visitor told of every validated record of the stream, in order, before its bytes reach the
     * destination, publishing them into {@code events} as {@code ballast tap} does ({@link QemuStreamJournal}). When
     * {@code events} is a {@link ManifestSink} (a journaled run) it is opened, once QEMU's block list has been read,
     * with the stream's layout ({@link QemuManifest#layout()}) and this run's workload, policy and seed.
     */
    static QemuStreamJournal journal(
            EventSink events, Scenario s, QemuStreamJournal.Context context, java.util.function.LongSupplier clock) {
        return new QemuStreamJournal(
                m -> {
                    if (events instanceof ManifestSink j) {
                        j.open(m.runManifest(s.workload().toString(), s.policy(), s.seed()), m.metadata());
                    }
                    return events;
                },
                context,
                clock);
    }

    RunReport run() {
        long wall0 = System.nanoTime();
        Path dir;
        try {
            dir = Files.createTempDirectory("ballast-qemu-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot make a directory for the QEMU run: " + e.getMessage());
        }
        try {
            RunReport r = migrate(dir, wall0);
            if (r.verify().ok()) {
                deleteTree(dir); // kept when the check failed: the consoles show what the guest saw
            }
            return r;
        } catch (QemuUnavailableException e) {
            deleteTree(dir);
            throw new IllegalStateException(e.getMessage());
        } catch (IOException | QmpException e) {
            throw new IllegalStateException(e.getMessage() + " (the run's files: " + dir + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted (the run's files: " + dir + ")");
        }
    }

    private RunReport migrate(Path dir, long wall0)
            throws IOException, QmpException, InterruptedException, QemuUnavailableException {
        long mem = scenario.guestMemBytes();
        GuestWorkload workload = GuestWorkload.of(scenario.workload(), mem, scenario.seed());
        GuestImage image = image();
        Qemu qemu = Qemu.find(build.vmm(), image, dir);
        boolean hint = scenario.policy().equals("hint");
        MachineSpec spec = new MachineSpec(
                qemu.accelerator(),
                mem >> 10,
                hint,
                image,
                scenario.workload().name(),
                workload.kernelArgs().substring(workload.kernelArgs().indexOf(' ') + 1));
        long gib = Math.max(1, mem >> 30);
        Duration boot = Duration.ofSeconds(120 + 90 * gib);
        Duration migration = Duration.ofSeconds(600 + 300 * gib);

        progress.update("boot", 0, 0, 0);
        try (QemuMachine source = QemuMachine.start(qemu.binary(), spec, dir.resolve("source"), null)) {
            String balloonLine = awaitGuest(source, "BALLAST balloon", boot);
            String ready = awaitGuest(source, "BALLAST READY", boot);
            for (String line : new String[] {balloonLine, ready}) {
                if (!line.startsWith("BALLAST")) {
                    throw new IOException(
                            "the source guest's kernel crashed before its workload was ready: " + line.strip());
                }
            }
            String want = "free_page_hint=" + (hint ? "1" : "0");
            if (!balloonLine.contains(want)) {
                throw new IOException("the guest's balloon driver reports '" + balloonLine.strip() + "', expected "
                        + want + " for policy " + scenario.policy());
            }
            StreamCapabilities.requireReadable(source.qmp());
            long actualBefore = mem;
            if (workload.keepBytes() > 0) {
                progress.update("inflate", 0, 0, 0);
                actualBefore = inflate(source.qmp(), workload.keepBytes(), boot);
            }
            int destPort = freePort();
            try (QemuMachine dest =
                    QemuMachine.start(qemu.binary(), spec, dir.resolve("dest"), "tcp:127.0.0.1:" + destPort)) {
                StreamCounts counts = new StreamCounts();
                MigrationStats stats;
                MigrationRelay.Result relayed = null;
                setParameters(source.qmp());
                QemuStreamJournal.Context context = new QmpWatch(source.qmp())
                        .context("ballast run --backend qemu: the source QEMU, through Ballast's relay");
                long t0 = System.nanoTime();
                QemuStreamJournal journal = journal(events, scenario, context, () -> System.nanoTime() - t0);
                try {
                    try (MigrationRelay relay = MigrationRelay.start(
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), destPort),
                            new Tee(counts, new Tee(journal, tap)))) {
                        stats = run(
                                source.qmp(),
                                "tcp:127.0.0.1:" + relay.port(),
                                migration,
                                workload.deflateWhileMigrating() ? mem : 0,
                                journal);
                        relayed = relay.await(Duration.ofSeconds(60));
                    }
                    if (relayed == null) {
                        throw new IOException("the relay did not finish within 60 s of QEMU's completed migration");
                    }
                    if (relayed.refused() != null) {
                        journal.refused(relayed.refused());
                        throw new IOException("Ballast refused QEMU's stream: "
                                + relayed.refused().getMessage());
                    }
                    if (relayed.failed() != null) {
                        throw new IOException(
                                "the relay failed: " + relayed.failed().getMessage());
                    }
                    journal.completed(relayed.forwardedBytes());
                } finally {
                    // a migration QEMU gave up, or a relay that broke: the journal ends where the stream did
                    journal.failed(FailureCause.PEER_CLOSED, relayed == null ? 0 : relayed.forwardedBytes());
                }
                String status = MigrationStats.awaitStatus(dest.qmp(), "running", Duration.ofSeconds(60));
                if (!status.equals("running")) {
                    throw new IOException(
                            "the destination QEMU reads '" + status + "' after the migration, not running");
                }
                long actualAfter = balloonActual(dest.qmp());
                progress.update("check", (int) stats.dirtySyncCount(), 1, relayed.forwardedBytes());
                dest.sendSerialLine("CHECK");
                String verdictLine = awaitGuest(dest, "BALLAST VERDICT", boot);
                if (!verdictLine.startsWith("BALLAST")) {
                    // the destination's kernel found its own memory inconsistent before the guest could check it
                    verdictLine = "BALLAST VERDICT ok=0 checked=0 mismatched=0 first=- " + verdictLine.strip();
                }
                Matcher v = VERDICT.matcher(verdictLine.strip());
                if (!v.matches()) {
                    throw new IOException("the guest's verdict cannot be read: " + verdictLine.strip());
                }
                return report(
                        qemu,
                        image,
                        stats,
                        relayed,
                        counts,
                        journal.passes(),
                        v,
                        actualBefore,
                        actualAfter,
                        wall0,
                        dir);
            }
        }
    }

    /**
     * Waits for the guest's line starting with {@code prefix} and returns it, or returns the kernel's first crash line
     * (a panic, a BUG, a list corruption) as soon as one appears; fails when {@code timeout} passes or QEMU exits.
     */
    private static String awaitGuest(QemuMachine m, String prefix, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = m.lastSerialLine(prefix);
            if (line != null) {
                return line;
            }
            String crash = m.serialLineContaining(CRASH);
            if (crash != null) {
                return crash;
            }
            if (!m.isAlive() || System.nanoTime() > deadline) {
                return m.awaitSerialLine(prefix, Duration.ZERO); // throws, saying which
            }
            Thread.sleep(100);
        }
    }

    private GuestImage image() throws IOException, QemuUnavailableException {
        if (build.kernel() == null && build.initrd() == null) {
            return GuestImage.prepare(GuestImage.defaultCache());
        }
        GuestImage own = build.kernel() == null ? GuestImage.prepare(GuestImage.defaultCache()) : null;
        Path kernel = build.kernel() != null ? Path.of(build.kernel()) : own.kernel();
        Path initrd = build.initrd() != null ? Path.of(build.initrd()) : own.initrd();
        return new GuestImage(
                kernel, initrd, build.kernel() != null ? kernel.getFileName().toString() : own.kernelVersion());
    }

    private void setParameters(QmpClient qmp) throws IOException, QmpException {
        long bw = scenario.bandwidthBitsPerSec() == 0 ? UNLIMITED_BYTES_PER_SEC : scenario.bandwidthBitsPerSec() / 8;
        qmp.execute(
                "migrate-set-parameters",
                Map.of("max-bandwidth", bw, "downtime-limit", Math.max(1, scenario.downtimeLimitNs() / 1_000_000)));
    }

    /**
     * Migrates and polls {@code query-migrate}, its figures into the journal every 100 ms; deflates the balloon to
     * {@code deflateTo} bytes once it runs (0: no).
     */
    private MigrationStats run(QmpClient qmp, String uri, Duration timeout, long deflateTo, QemuStreamJournal journal)
            throws IOException, QmpException, InterruptedException {
        qmp.execute("migrate", Map.of("uri", uri));
        long nextStatus = 0;
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean deflated = deflateTo == 0;
        while (true) {
            JsonNode info = qmp.execute("query-migrate");
            String status = info.path("status").asText();
            if (status.equals("completed")) {
                JsonNode ram = info.path("ram");
                journal.status(
                        ram.path("dirty-sync-count").asLong(),
                        ram.path("remaining").asLong(),
                        0);
                return MigrationStats.of(info);
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new QmpException("QEMU's migration " + status + ": "
                        + info.path("error-desc").asText("QEMU gave no reason"));
            }
            JsonNode ram = info.path("ram");
            if (!ram.isMissingNode() && System.nanoTime() >= nextStatus) {
                journal.status(
                        ram.path("dirty-sync-count").asLong(),
                        ram.path("remaining").asLong(),
                        ram.path("dirty-pages-rate").asLong());
                nextStatus = System.nanoTime() + 100_000_000L;
            }
            long total = Math.max(1, ram.path("total").asLong());
            progress.update(
                    status,
                    ram.path("dirty-sync-count").asInt(),
                    Math.min(1, ram.path("transferred").asDouble() / total),
                    ram.path("transferred").asLong());
            if (!deflated && status.equals("active")) {
                qmp.execute("balloon", Map.of("value", deflateTo));
                deflated = true;
            }
            if (System.nanoTime() > deadline) {
                qmp.execute("migrate_cancel");
                throw new QmpException(
                        "QEMU's migration still " + status + " after " + timeout.toSeconds() + " s; cancelled");
            }
            Thread.sleep(20);
        }
    }

    /** Asks the balloon to leave {@code keep} bytes and waits until it has (within 1 MiB) or {@code timeout} passed. */
    private static long inflate(QmpClient qmp, long keep, Duration timeout)
            throws IOException, QmpException, InterruptedException {
        qmp.execute("balloon", Map.of("value", keep));
        long deadline = System.nanoTime() + timeout.toNanos();
        long actual;
        do {
            actual = balloonActual(qmp);
            if (actual <= keep + (1 << 20)) {
                return actual;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new IOException("the guest's balloon reached " + (actual >> 20) + " MiB, not " + (keep >> 20)
                + " MiB, within " + timeout.toSeconds() + " s");
    }

    private static long balloonActual(QmpClient qmp) throws IOException, QmpException {
        return qmp.execute("query-balloon").path("actual").asLong();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private RunReport report(
            Qemu qemu,
            GuestImage image,
            MigrationStats q,
            MigrationRelay.Result relayed,
            StreamCounts c,
            int passes,
            Matcher v,
            long actualBefore,
            long actualAfter,
            long wall0,
            Path dir) {
        Map<String, Long> own = new LinkedHashMap<>();
        own.put("normal", q.normalPages());
        own.put("duplicate", q.zeroPages());
        own.put("transferred", q.transferredBytes());
        own.put("totalTimeMs", q.totalTimeMs());
        own.put("downtimeMs", q.downtimeMs());
        own.put("setupTimeMs", q.setupTimeMs());
        own.put("dirtySyncCount", q.dirtySyncCount());
        Map<String, Long> stream = new LinkedHashMap<>();
        stream.put("normal", c.normal);
        stream.put("zero", c.zero);
        stream.put("ramBytes", c.ramBytes());
        stream.put("partSections", c.partSections);
        stream.put("bytes", relayed.forwardedBytes());
        boolean agrees = c.normal == q.normalPages()
                && c.zero == q.zeroPages()
                && transferredAgrees(qemu.version(), c.ramBytes(), relayed.forwardedBytes(), q.transferredBytes());

        long checked = Long.parseLong(v.group(2));
        long mismatched = Long.parseLong(v.group(3));
        boolean guestOk = v.group(1).equals("1") && mismatched == 0;
        String violation = null;
        String known = knownLoss(qemu);
        if (!guestOk && !v.group(5).isEmpty()) {
            violation =
                    Invariant.NO_LOST_WRITE.violation("the destination's kernel crashed after the migration, before "
                            + "the guest's check (" + v.group(5)
                            + "): its memory is not what the source's was, or the guest "
                            + "kernel has a bug of its own; the consoles are in " + dir + known);
        } else if (!guestOk) {
            violation = Invariant.NO_LOST_WRITE.violation(mismatched + " of " + checked
                    + " stamped pages differ on the destination; the first at guest virtual address " + v.group(4)
                    + "; the consoles are in " + dir + known);
        } else if (!agrees) {
            violation = "Ballast's reading of QEMU's stream disagrees with QEMU's query-migrate: stream " + stream
                    + ", QEMU " + own;
        }
        long inflated = Math.max(0, scenario.guestMemBytes() - actualBefore) / 4096;
        long deflated = Math.max(0, actualAfter - actualBefore) / 4096;
        RunReport.Vmm vmm = new RunReport.Vmm(
                "qemu", qemu.version(), qemu.accelerator().qemuName(), image.kernelVersion(), own, stream, agrees);
        double wallMs = (System.nanoTime() - wall0) / 1e6;
        // QEMU's own figures: query-migrate no longer reports an expected downtime once the migration completed,
        // nor which bytes went while the guest was paused
        double limitMs = scenario.engineConfig().downtimeLimitNs() / 1e6;
        double transferS = (q.totalTimeMs() - q.setupTimeMs()) / 1e3;
        RunReport.Ram ram = new RunReport.Ram(
                q.transferredBytes(),
                0,
                scenario.guestMemBytes(),
                q.zeroPages(),
                q.normalPages(),
                q.normalPages() * 4096,
                -1,
                transferS > 0 ? q.transferredBytes() * 8.0 / transferS / 1e6 : 0,
                q.dirtySyncCount(),
                4096,
                transferS > 0 ? Math.round((q.normalPages() + q.zeroPages()) / transferS) : 0,
                -1,
                -1);
        return new RunReport(
                scenario.backend(),
                scenario.workload().toString(),
                scenario.policy(),
                scenario.guestMemBytes(),
                scenario.seed(),
                "wall",
                "completed",
                q.totalTimeMs(),
                q.downtimeMs(),
                -1,
                limitMs,
                q.downtimeMs() > limitMs,
                q.setupTimeMs(),
                passes,
                relayed.forwardedBytes(),
                ram,
                new RunReport.Pages(c.normal, c.zero, 0, 0, c.resent),
                new RunReport.Hints(0, 0, 0, 0, 0),
                new RunReport.Balloon(inflated, deflated, 0, false, null),
                new RunReport.Verify(checked, mismatched, violation == null, violation),
                new RunReport.Journal(null, 0, null),
                List.of(new RunReport.Attempt("completed", null, q.totalTimeMs(), relayed.forwardedBytes())),
                List.of(),
                wallMs,
                vmm,
                null);
    }

    /**
     * Whether query-migrate's {@code ram.transferred} is what this QEMU counts of the stream Ballast read: QEMU 7
     * counts RAM's page records and each PART section's EOS ({@code ramBytes}; seen on 7.2.22), QEMU 10 and later
     * every byte of the stream ({@code streamBytes}; seen on 10.0.2). Versions 8 and 9 were not run here (QEMU
     * reworked its counters in between): either reading agrees there, as for a version that does not parse.
     */
    static boolean transferredAgrees(String version, long ramBytes, long streamBytes, long transferred) {
        Matcher m = Pattern.compile("(\\d+)\\.").matcher(version);
        int major = m.lookingAt() ? Integer.parseInt(m.group(1)) : -1;
        if (major >= 1 && major <= 7) return transferred == ramBytes;
        if (major >= 10) return transferred == streamBytes;
        return transferred == ramBytes || transferred == streamBytes;
    }

    /**
     * What a lost write on this QEMU may be (docs/findings.md, finding 3): QEMU before 9.0 under TCG does not re-arm
     * its TLB's dirty tracking after the fast path of a dirty-log sync, so the guest's later stores to a page written
     * since the previous sync are not tracked. Empty when that does not apply.
     */
    static String knownLoss(Qemu qemu) {
        if (qemu.accelerator() != dev.ballast.qemu.Accelerator.TCG) return "";
        Matcher m = Pattern.compile("(\\d+)\\.").matcher(qemu.version());
        if (!m.lookingAt() || Integer.parseInt(m.group(1)) >= 9) return "";
        return " (QEMU " + qemu.version() + " under TCG loses the guest's stores after a dirty-log sync, fixed in QEMU "
                + "9.0: docs/findings.md, finding 3)";
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a run's leftover logs in the temporary directory are harmless
        }
    }
}
