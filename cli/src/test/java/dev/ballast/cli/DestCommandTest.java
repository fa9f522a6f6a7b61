package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ballast dest} refusing what it would otherwise take silently (and then wait forever):
 * one line, exit 2, nothing on stdout, no server started. The migrations it serves are in
 * {@link CrossProcessMigrationTest}.
 */
class DestCommandTest {
    @TempDir
    Path dir;

    private Cli.Result dest(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "dest";
        System.arraycopy(args, 0, all, 1, args.length);
        // a dest that is not refused listens until stopped: do not wait for it
        return assertTimeoutPreemptively(Duration.ofSeconds(20), () -> new Cli(dir, Backends.of()).run(all));
    }

    private static void assertRefused(Cli.Result r, String line) {
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.errLines()).containsExactly("ballast: " + line);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void shouldRefuseAJournalDirectoryItCannotWriteTo() throws IOException {
        Path file = java.nio.file.Files.writeString(dir.resolve("a-file"), "not a directory\n");
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--journal", file.toString()),
                "--journal " + file + ": not a directory this process can write to");
        Path under = file.resolve("journals");
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--journal", under.toString()),
                "--journal " + under + ": not a directory this process can write to");
    }

    @Test
    void shouldRefuseAnUnknownPolicyEvenWithoutForward() {
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--policy", "nosuch"),
                "--policy nosuch: unknown (one of legacy, balloon, hint, bitmap, hint+balloon, balloon-zero, report, hint+report, or a class name implementing "
                        + "dev.ballast.core.policy.MigrationPolicy)");
    }

    @Test
    void shouldRefuseTheOnwardMigrationsSettingsWithoutForward() {
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--policy", "hint"),
                "--policy hint: only with --forward (it is the onward migration's)");
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--downtime", "300ms"),
                "--downtime 300ms: only with --forward (it is the onward migration's)");
    }

    @Test
    void shouldRefuseAMaximumGuestSizeItCannotTake() {
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--max-mem", "0"),
                "--max-mem 0: must be a multiple of 2M in [2M, 256G]");
        assertRefused(
                dest("--listen", "127.0.0.1:0", "--max-mem", "1P"),
                "--max-mem 1P: must be a multiple of 2M in [2M, 256G]");
    }

    @Test
    void shouldRefuseToForwardToItself() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        assertRefused(
                dest("--listen", "127.0.0.1:" + port, "--forward", "127.0.0.1:" + port),
                "--forward 127.0.0.1:" + port
                        + ": is this destination's own --listen address; forward to another ballast dest");
        assertRefused(
                dest("--listen", "localhost:" + port, "--forward", "127.0.0.1:" + port),
                "--forward 127.0.0.1:" + port
                        + ": is this destination's own --listen address; forward to another ballast dest");
    }
}
