package dev.ballast.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serial console as the host reads it while the guest is still writing: QEMU appends the guest's bytes to the log
 * as they come, so the log's last line may be half written. A line counts only once its end of line is there.
 */
class QemuMachineSerialTest {
    @TempDir
    Path dir;

    private Process stand;
    private QemuMachine machine;
    private Path serial;

    @BeforeEach
    void machine() throws IOException {
        stand = new ProcessBuilder("sleep", "60").start(); // a live process in QEMU's place
        serial = dir.resolve("serial.log");
        machine = QemuMachine.observing(stand, serial);
    }

    @AfterEach
    void stop() throws InterruptedException {
        stand.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }

    private void append(String s) throws IOException {
        Files.writeString(serial, s, StandardCharsets.ISO_8859_1, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Test
    void shouldWaitForTheRestOfAHalfWrittenLine() throws Exception {
        append("[    0.1] booting\r\nBALLAST VERDICT ok=1 checked=26");
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return machine.awaitSerialLine("BALLAST VERDICT", Duration.ofSeconds(20));
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        assertThat(line).as("a line without its end is not there yet").isNotDone();
        append("21 mismatched=0 first=-\r\n");
        assertThat(line.get(20, TimeUnit.SECONDS)).isEqualTo("BALLAST VERDICT ok=1 checked=2621 mismatched=0 first=-");
    }

    @Test
    void shouldNotReportAHalfWrittenLastOrCrashLine() throws Exception {
        append("BALLAST READY workload=idle stamped=10\nBALLAST READY workload=memh");
        assertThat(machine.lastSerialLine("BALLAST READY")).isEqualTo("BALLAST READY workload=idle stamped=10");
        append("og stamped=2621\n[   9.0] list_del corrup");
        assertThat(machine.lastSerialLine("BALLAST READY")).isEqualTo("BALLAST READY workload=memhog stamped=2621");
        assertThat(machine.serialLineContaining("list_del corruption")).isNull();
        append("tion, ffffea0000123400->next is LIST_POISON1\r\n");
        assertThat(machine.serialLineContaining("list_del corruption"))
                .isEqualTo("[   9.0] list_del corruption, ffffea0000123400->next is LIST_POISON1");
    }
}
