package dev.ballast.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.journal.JournalReader;
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

/** A run killed with SIGKILL leaves a journal that replays up to its last complete event and says it was cut short. */
class KilledRunTest {
    @TempDir
    Path tmp;

    @Test
    void shouldReplayAKilledRunUpToItsLastCompleteEvent() throws Exception {
        Path dir = tmp.resolve("killed");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-") || arg.startsWith("--enable-native-access") || arg.startsWith("-Dchronicle"))
                cmd.add(arg);
        }
        cmd.addAll(List.of(
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                KilledRunTarget.class.getName(),
                dir.toString()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                output.append(line).append('\n');
                if (line.equals("PUBLISHED 1000000")) break;
            }
            assertThat(output.toString())
                    .as("the child never got far enough")
                    .contains("PUBLISHED 1000000")
                    .doesNotContain("FINISHED");
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        assertThat(child.exitValue()).isEqualTo(137);

        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.cutShort()).isTrue();
            assertThat(r.events()).isPositive();
        }
        Replay.Result res = JournalQueries.replay(dir);
        assertThat(res.divergence()).isNull();
        assertThat(res.truncated()).isTrue();
        assertThat(res.events()).isGreaterThan(100_000);
        // the state at an event near the end, through a checkpoint
        try (JournalReader r = JournalReader.open(dir)) {
            long last = r.events() - 1;
            assertThat(JournalQueries.stateAt(dir, last).eventNumber()).isEqualTo(last);
        }
    }
}
