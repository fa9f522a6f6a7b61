package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ballast.kvm.KvmAvailability;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migrations between processes: {@code ballast dest} runs as a child JVM, {@code ballast run
 * --dest} in this one. Every policy verifies; a chain A → B → C across three processes verifies
 * on C; a destination with a secret takes the source that proves it and drops one that does not;
 * SIGTERM stops a destination cleanly.
 */
class CrossProcessMigrationTest {
    @TempDir
    Path tmp;

    private final List<Dest> dests = new ArrayList<>();

    /** A {@code ballast dest} child process and the lines it printed. */
    static final class Dest {
        final Process process;
        final List<String> lines = new CopyOnWriteArrayList<>();
        final int port;
        volatile boolean eof;

        Dest(Process p) throws Exception {
            this.process = p;
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (String l; (l = r.readLine()) != null; ) {
                        lines.add(l);
                        System.out.println("[dest " + p.pid() + "] " + l);
                    }
                } catch (IOException ignored) {
                    // the process ended
                } finally {
                    eof = true;
                }
            });
            this.port = Integer.parseInt(await(Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)"), 60)
                    .group(1));
        }

        Matcher await(Pattern p, int seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                for (String l : lines) {
                    Matcher m = p.matcher(l);
                    if (m.find()) return m;
                }
                if (eof && lines.stream().noneMatch(l -> p.matcher(l).find())) {
                    throw new IllegalStateException(
                            "the destination exited (" + process.exitValue() + ") before printing " + p + ": " + lines);
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("no line matching " + p + " in " + lines);
        }

        String address() {
            return "127.0.0.1:" + port;
        }
    }

    Dest dest(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--") || a.startsWith("-D")) cmd.add(a);
        }
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("dest");
        cmd.add("--listen");
        cmd.add("127.0.0.1:0");
        cmd.add("--timeout");
        cmd.add("10s");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Dest d = new Dest(p);
        dests.add(d);
        return d;
    }

    @AfterEach
    void stopDestinations() throws InterruptedException {
        for (Dest d : dests) {
            d.process.destroy(); // SIGTERM
            if (!d.process.waitFor(20, TimeUnit.SECONDS)) d.process.destroyForcibly();
        }
    }

    static void assumeKvm() {
        KvmAvailability a = KvmAvailability.check();
        Assumptions.assumeTrue(a.usable(), () -> "KVM not usable: " + a.reason());
    }

    Cli cli() {
        return new Cli(tmp, Backends.discover());
    }

    JsonNode run(String policy, String destAddress, String... extra) throws IOException {
        Path json = tmp.resolve("run-" + policy.replace('+', '_') + "-" + System.nanoTime() + ".json");
        List<String> args = new ArrayList<>(List.of(
                "run",
                "--backend",
                "kvm",
                "--mem",
                "128M",
                "--workload",
                "compile",
                "--policy",
                policy,
                "--dest",
                destAddress,
                "--no-journal",
                "--json",
                json.toString()));
        args.addAll(List.of(extra));
        Cli.Result r = cli().run(args.toArray(String[]::new));
        System.out.println(r.out() + r.err());
        assertThat(Files.exists(json)).as(r.err()).isTrue();
        JsonNode n = Json.MAPPER.readTree(json.toFile());
        n = n.isArray() ? n.get(0) : n;
        ((com.fasterxml.jackson.databind.node.ObjectNode) n).put("exitCode", r.exitCode());
        return n;
    }

    @Test
    void shouldMigrateToAnotherProcessWithEveryPolicyAndStopOnSigterm() throws Exception {
        assumeKvm();
        Dest d = dest();
        for (String policy : List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon")) {
            JsonNode r = run(policy, d.address());
            assertThat(r.get("exitCode").asInt()).isZero();
            assertThat(r.get("outcome").asText()).isEqualTo("completed");
            assertThat(r.get("verify").get("ok").asBoolean()).as(policy).isTrue();
            assertThat(r.get("verify").get("checkedPages").asLong()).isPositive();
        }
        // the destination logs a migration after its verdict has reached the source: wait for the fifth line
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (d.lines.stream().filter(l -> l.contains("verify ok")).count() < 5 && System.nanoTime() < end)
            Thread.sleep(20);
        assertThat(d.lines.stream().filter(l -> l.contains("verify ok"))).hasSize(5);
        // SIGTERM through the handle: Process.destroy() would also close our end of its output
        d.process.toHandle().destroy();
        assertThat(d.process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(d.process.exitValue()).as("a clean exit on SIGTERM").isZero();
        d.await(Pattern.compile("ballast dest: stopped$"), 10);
    }

    @Test
    void shouldRunAChainAcrossThreeProcessesThatVerifiesAtTheEnd() throws Exception {
        assumeKvm();
        Dest c = dest();
        Dest b = dest("--forward", c.address(), "--policy", "hint");
        JsonNode r = run("hint+balloon", b.address());
        assertThat(r.get("verify").get("ok").asBoolean()).isTrue();
        b.await(Pattern.compile("forward to 127\\.0\\.0\\.1:" + c.port + ": completed .* verify ok"), 60);
        c.await(Pattern.compile("migration 0x[0-9a-f]+ from 127\\.0\\.0\\.1:\\d+: verify ok"), 60);
    }

    @Test
    void shouldTakeASourceThatProvesTheSecretAndDropOneThatDoesNot() throws Exception {
        assumeKvm();
        Path secret = tmp.resolve("secret");
        Files.writeString(secret, "a shared secret of the test bench\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path other = tmp.resolve("other");
        Files.writeString(other, "not the secret the destination holds\n");
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        Dest d = dest("--secret-file", secret.toString());
        JsonNode bad = run("hint", d.address(), "--secret-file", other.toString());
        assertThat(bad.get("outcome").asText()).isEqualTo("failed");
        assertThat(bad.get("exitCode").asInt()).isEqualTo(ExitCodes.ERROR);
        assertThat(bad.get("attempts").get(0).get("cause").asText()).contains("AUTH_FAILED");
        d.await(Pattern.compile("dropped: authentication failed"), 30);
        JsonNode none = run("hint", d.address());
        assertThat(none.get("outcome").asText()).isEqualTo("failed");
        JsonNode good = run("hint", d.address(), "--secret-file", secret.toString());
        assertThat(good.get("verify").get("ok").asBoolean()).isTrue();
    }

    @Test
    void shouldRefuseToListenBeyondLoopbackWithoutASecret() {
        Cli.Result r = cli().run("dest", "--listen", "0.0.0.0:0");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("not a loopback address").contains("--secret-file");
    }

    @Test
    void shouldNameTheAddressThatIsAlreadyInUse() throws Exception {
        assumeKvm();
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Cli.Result r = cli().run("dest", "--listen", "127.0.0.1:" + taken.getLocalPort());
            assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err())
                    .contains("--listen 127.0.0.1:" + taken.getLocalPort() + ": address already in use")
                    .doesNotContain("Exception");
        }
    }

    /** Nothing listens: the run says its verification did not run, and waits longer before each retry. */
    @Test
    void shouldSayVerifyNotRunAndBackOffWhenTheDestinationRefuses() throws Exception {
        assumeKvm();
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Cli.Result r = cli().run(
                        "run",
                        "--backend",
                        "kvm",
                        "--mem",
                        "64M",
                        "--workload",
                        "idle",
                        "--dest",
                        "127.0.0.1:" + port,
                        "--no-journal");
        System.out.println(r.out() + r.err());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.out()).containsPattern("verify\\s+not run").doesNotContain("verify       ok");
        assertThat(r.out() + r.err())
                .contains("127.0.0.1:" + port + ": Connection refused")
                .doesNotContain("IOException");
        Matcher total = Pattern.compile("total\\s+([0-9.]+) ms").matcher(r.out());
        assertThat(total.find()).isTrue();
        // four attempts: 250 + 500 + 1000 ms of waiting between them (it was 3 x 100 ms)
        assertThat(Double.parseDouble(total.group(1))).isGreaterThanOrEqualTo(1750);
    }

    /** A peer that trickles its HELLO a byte at a time keeps no source waiting, and is dropped at its deadline. */
    @Test
    void shouldServeASourceWhileAnotherTricklesAndDropTheTrickler() throws Exception {
        assumeKvm();
        Dest d = dest("--handshake-timeout", "1s");
        Thread trickler = Thread.ofPlatform().start(() -> {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", d.port)) {
                // a HELLO header that announces 1000 bytes, then its payload a byte at a time (at most 20 s)
                byte[] start = {0x11, (byte) 0xBA, 1, 0, (byte) 0xE8, 3, 0, 0};
                for (int i = 0; i < 200 && !s.isClosed(); i++) {
                    s.getOutputStream().write(i < start.length ? start[i] : 0);
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException dropped) {
                // dropped by the destination
            }
        });
        JsonNode r = run("hint", d.address());
        assertThat(r.get("verify").get("ok").asBoolean()).isTrue();
        assertThat(r.get("attempts")).hasSize(1);
        d.await(Pattern.compile("lost: no authentication and HELLO within 1000 ms"), 20);
        trickler.join(30_000);
    }

    /**
     * {@code ballast dest --journal DIR}: a postcopy migration over TCP is journaled under DIR in a journal of its
     * own, holding the destination's faults and placements, and its counts are the fault figures the destination's
     * verdict gave the source; inspect, report and replay read it.
     */
    @Test
    void shouldJournalAPostcopyMigrationsFaultsAtTheDestination() throws Exception {
        assumeKvm();
        Path dir = tmp.resolve("dest-journals");
        Dest d = dest("--journal", dir.toString());
        Path json = tmp.resolve("postcopy.json");
        Cli.Result run = cli().run(
                        "run",
                        "--backend",
                        "kvm",
                        "--mem",
                        "64M",
                        "--workload",
                        "random-write",
                        "--postcopy-after",
                        "1",
                        "--downtime",
                        "1ms",
                        "--dest",
                        d.address(),
                        "--no-journal",
                        "--json",
                        json.toString());
        System.out.println(run.out() + run.err());
        JsonNode r = Json.MAPPER.readTree(json.toFile());
        r = r.isArray() ? r.get(0) : r;
        assertThat(r.get("verify").get("ok").asBoolean()).isTrue();
        JsonNode pc = r.get("postcopy");
        assertThat(pc.isObject()).as("the run switched over: %s", r).isTrue();
        // the journal is closed when the destination logs it, after the migration
        Matcher logged = d.await(Pattern.compile("journal: (\\S+) \\((\\d+) events, digest ([0-9a-f]+)\\)"), 60);
        Path journal = Path.of(logged.group(1));
        String session =
                d.await(Pattern.compile("migration 0x([0-9a-f]+) from"), 10).group(1);
        assertThat(journal).isEqualTo(dir.resolve(session + "-1"));

        long faults = 0, served = 0, zero = 0, others = 0, faultedPfn = -1;
        try (dev.ballast.journal.JournalReader j = dev.ballast.journal.JournalReader.open(journal)) {
            assertThat(j.header().get("role")).isEqualTo("destination");
            assertThat(j.header().get("session")).isEqualTo("0x" + session);
            var layout = dev.ballast.core.run.RunManifest.fromMetadata(
                            j.header().metadata())
                    .layout();
            assertThat(layout.totalBytes()).isEqualTo(64L << 20);
            while (j.next()) {
                var e = j.record();
                switch (e.type()) {
                    case FAULT -> {
                        faults++;
                        if (faultedPfn < 0)
                            faultedPfn = layout.blocks().get((int) e.a()).firstPfn() + e.b();
                    }
                    case FAULT_SERVED -> served++;
                    case FAULT_ZERO -> zero++;
                    default -> others++;
                }
            }
            assertThat(j.events()).isEqualTo(Long.parseLong(logged.group(2)));
        }
        // the verdict's figures, as the source reports them: every page faulted on, asked for or placed as zero
        assertThat(faults).as("the guest faulted on the destination").isPositive();
        assertThat(faults + zero).isEqualTo(pc.get("faults").asLong());
        assertThat(zero).isEqualTo(pc.get("zeroPlaced").asLong());
        assertThat(served).as("every fault asked for was placed").isEqualTo(faults);
        assertThat(others).isZero();

        Cli.Result page = cli().run("inspect", journal.toString(), "--page", "0x" + Long.toHexString(faultedPfn));
        assertThat(page.exitCode()).as(page.err()).isZero();
        assertThat(page.out())
                .contains("the guest faulted on it on the destination")
                .contains("placed on the destination; the fault waited")
                .doesNotContain("no migration");
        Cli.Result events = cli().run("inspect", journal.toString(), "--events", "0:5");
        assertThat(events.exitCode()).as(events.err()).isZero();
        assertThat(events.out()).contains("FAULT");
        Cli.Result replay = cli().run("replay", journal.toString());
        assertThat(replay.exitCode()).as(replay.err()).isZero();
        assertThat(replay.out().strip())
                .isEqualTo("a destination's journal (ballast dest): a destination makes no decisions to re-make; "
                        + "the journal is intact: " + logged.group(2) + " events, digest " + logged.group(3)
                        + " verified");
        Path html = tmp.resolve("dest.html");
        Cli.Result report = cli().run("report", journal.toString(), "-o", html.toString());
        assertThat(report.exitCode()).as(report.err()).isZero();
        // the fault latency chart's data: faults in some interval
        assertThat(Files.readString(html)).containsPattern("\"faultsServed\":\\[[^\\]]*[1-9]");
    }
}
