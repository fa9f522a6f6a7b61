package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalCutShortTest {
    @TempDir
    Path tmp;

    /** Starts {@link JournalKillTarget} in a child JVM with this JVM's flags and class path. */
    static Process startChild(Path dir) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("--enable-native-access") || arg.startsWith("-Dchronicle")) {
                cmd.add(arg);
            }
        }
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(JournalKillTarget.class.getName());
        cmd.add(dir.toString());
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }

    @Test
    void shouldReadAJournalWhoseWriterWasKilledUpToItsLastCompleteEvent() throws Exception {
        Path dir = tmp.resolve("killed");
        Process child = startChild(dir);
        long reported = 0;
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder other = new StringBuilder();
            while ((line = out.readLine()) != null) {
                if (line.startsWith("WRITTEN ")) {
                    reported = Long.parseLong(line.substring(8));
                    if (reported >= 1_000_000) break;
                } else {
                    other.append(line).append('\n');
                }
            }
            assertThat(reported).as("child output:\n%s", other).isGreaterThanOrEqualTo(1_000_000);
            child.destroyForcibly(); // SIGKILL on Linux
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).isEqualTo(137);

        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.cutShort()).isTrue();
            assertThat(r.footer()).isNull();
            assertThat(r.header().get("purpose")).isEqualTo("kill test");
            assertThat(r.events()).isGreaterThanOrEqualTo(reported);
            long n = 0;
            while (r.next()) {
                EventRecord e = r.record();
                if (e.a() != n || e.b() != n * 7 || e.c() != -n) {
                    throw new AssertionError("event " + n + " reads " + e);
                }
                n++;
            }
            assertThat(n).isEqualTo(r.events());
            assertThatThrownBy(r::verifyDigest)
                    .isInstanceOf(JournalException.class)
                    .hasMessageContaining("cut short");

            r.seek(n / 2);
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isEqualTo(n / 2);
            Checkpoint cp = r.lastCheckpointAtOrBefore(n);
            assertThat(cp).isNotNull();
            // the child may die after a batch and before the checkpoint that follows it
            assertThat(cp.eventNumber() % 100_000).isZero();
            assertThat(cp.eventNumber()).isBetween(n / 100_000 * 100_000 - 100_000, n / 100_000 * 100_000);
            assertThat(new String(cp.payload())).isEqualTo(Long.toString(cp.eventNumber()));
        }
    }
}
