package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Ctrl-C during a run: a newline, one line saying the journal is cut short but replayable, exit 130; and it does replay. */
class InterruptTest {
    @TempDir
    Path tmp;

    Cli cli;

    @BeforeEach
    void setUp() {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend registered");
        cli = new Cli(tmp.resolve("config"), backends);
    }

    @Test
    void shouldSayTheJournalIsCutShortButReplayableOnCtrlC() throws Exception {
        assumeTrue(
                !sigintIgnored(),
                "SIGINT is ignored in this process (a build started in the background without job control), and a"
                        + " child inherits that: it cannot be interrupted");
        Path journal = tmp.resolve("cut");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--") || a.startsWith("-D")) cmd.add(a);
        }
        cmd.addAll(List.of(
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "run",
                "--mem",
                "256G",
                "--workload",
                "random-write",
                "--journal",
                journal.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("XDG_CONFIG_HOME", tmp.resolve("config").toString());
        Process child = pb.start();
        StringBuilder output = new StringBuilder();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            // wait until the run journals (the header is printed before, the journal's queue file appears with its
            // first events)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!hasQueueFile(journal) && System.nanoTime() < deadline && child.isAlive()) Thread.sleep(50);
            assertThat(hasQueueFile(journal)).as("the run never journaled").isTrue();
            Thread.sleep(1000);
            assertThat(child.isAlive())
                    .as("a 256 GiB run ends long after a second")
                    .isTrue();
            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).start();
            assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String line;
            while ((line = out.readLine()) != null) output.append(line).append('\n');
        } finally {
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).as(output.toString()).isEqualTo(130);
        String[] lines = output.toString().split("\n");
        assertThat(lines[lines.length - 1])
                .isEqualTo("ballast: interrupted: the journal " + journal
                        + " is cut short but replayable up to its last complete event (ballast replay " + journal
                        + ")");
        assertThat(lines[lines.length - 2])
                .as("the newline that ends a progress line")
                .isEmpty();

        Cli.Result r = cli.run("replay", journal.toString());
        assertThat(r.exitCode()).as(r.err() + r.out()).isZero();
        assertThat(r.out()).contains("cut short");
    }

    private static boolean hasQueueFile(Path dir) throws java.io.IOException {
        if (!Files.isDirectory(dir)) return false;
        try (var files = Files.list(dir)) {
            return files.anyMatch(
                    f -> f.toString().endsWith(".cq4") && f.toFile().length() > 0);
        }
    }

    /** Whether this process ignores SIGINT ({@code SigIgn} of /proc/self/status, bit 1), which its children inherit. */
    static boolean sigintIgnored() throws java.io.IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:"))
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 2) != 0;
        }
        return false;
    }
}
