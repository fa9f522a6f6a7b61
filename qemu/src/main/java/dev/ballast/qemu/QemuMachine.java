package dev.ballast.qemu;

import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running QEMU process with its QMP connection and serial log, all files in its own directory. Closing it asks
 * QEMU to quit and kills it if it does not within two seconds.
 */
public final class QemuMachine implements AutoCloseable {
    private final Process process;
    private final QmpClient qmp;
    private final Path serial;
    private final Path serialSocket;
    private final Path log;
    private final long startedNanos;
    private SocketChannel console;

    private QemuMachine(Process process, QmpClient qmp, Path serial, Path serialSocket, Path log, long startedNanos) {
        this.process = process;
        this.qmp = qmp;
        this.serial = serial;
        this.serialSocket = serialSocket;
        this.log = log;
        this.startedNanos = startedNanos;
    }

    /** Starts QEMU; {@code incoming} is null for a source or a {@code -incoming} URI for a destination. */
    public static QemuMachine start(String qemu, MachineSpec spec, Path dir, String incoming)
            throws IOException, QmpException {
        Files.createDirectories(dir);
        Path serial = dir.resolve("serial.log");
        Path socket = dir.resolve("qmp.sock");
        Path serialSocket = dir.resolve("serial.sock");
        Files.deleteIfExists(serialSocket);
        Path log = dir.resolve("qemu.log");
        Files.deleteIfExists(socket);
        Files.deleteIfExists(serial);
        List<String> args =
                spec.arguments(qemu, serial.toString(), serialSocket.toString(), socket.toString(), incoming);
        Files.writeString(dir.resolve("command"), String.join(" ", args) + "\n");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(args)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(20));
            return new QemuMachine(p, qmp, serial, serialSocket, log, t0);
        } catch (IOException | QmpException e) {
            p.destroyForcibly();
            throw new IOException("QEMU did not start: " + e.getMessage() + lastLine(log));
        }
    }

    /** A machine that is only watched: {@code process} in QEMU's place and its serial log (tests; no QMP). */
    static QemuMachine observing(Process process, Path serial) {
        return new QemuMachine(process, null, serial, serial.resolveSibling("serial.sock"), serial, System.nanoTime());
    }

    public QmpClient qmp() {
        return qmp;
    }

    public Path serialLog() {
        return serial;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Waits until the serial console shows a line starting with {@code prefix}; returns that line. Fails when the
     * process exits or {@code timeout} passes.
     */
    public String awaitSerialLine(String prefix, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (String line : completeLines()) {
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
            if (!process.isAlive()) {
                throw new IOException("QEMU exited (" + process.exitValue() + ") before the guest printed '" + prefix
                        + "'" + lastLine(log));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the guest did not print '" + prefix + "' within " + timeout.toSeconds()
                        + " s; its console is in " + serial);
            }
            Thread.sleep(50);
        }
    }

    /**
     * Writes {@code line} and a newline to the guest's serial console (its {@code /init} reads it). The connection
     * stays open until the machine is closed; what the guest prints still goes to {@link #serialLog()}.
     */
    public void sendSerialLine(String line) throws IOException {
        if (console == null) {
            console = SocketChannel.open(StandardProtocolFamily.UNIX);
            console.connect(UnixDomainSocketAddress.of(serialSocket));
        }
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            console.write(b);
        }
    }

    /** The first line of the serial log that contains one of {@code needles}, or null. */
    public String serialLineContaining(String... needles) throws IOException {
        for (String l : completeLines()) {
            for (String n : needles) {
                if (l.contains(n)) {
                    return l;
                }
            }
        }
        return null;
    }

    /** The last line of the serial log that starts with {@code prefix}, or null. */
    public String lastSerialLine(String prefix) throws IOException {
        String found = null;
        for (String l : completeLines()) {
            if (l.startsWith(prefix)) {
                found = l;
            }
        }
        return found;
    }

    /**
     * The serial log's lines that have their end of line ({@code \n}, {@code \r\n} or {@code \r}): QEMU appends the
     * guest's bytes as they come, so the last line may still be half written, and a half line is not the guest's
     * line (a verdict cut after {@code checked=26}).
     */
    private List<String> completeLines() throws IOException {
        if (!Files.exists(serial)) {
            return List.of();
        }
        byte[] bytes = Files.readAllBytes(serial);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n' && bytes[end - 1] != '\r') {
            end--;
        }
        return new String(bytes, 0, end, StandardCharsets.ISO_8859_1).lines().toList();
    }

    /** Waits up to {@code timeout} for the process to end; whether it has. */
    public boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Nanoseconds since the process was started. */
    public long nanosSinceStart() {
        return System.nanoTime() - startedNanos;
    }

    @Override
    public void close() throws IOException {
        try {
            if (process.isAlive()) {
                qmp.execute("quit");
            }
        } catch (IOException | QmpException e) {
            // QEMU closes the socket as it quits; the process check below decides
        } finally {
            qmp.close();
            if (console != null) {
                console.close();
            }
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String lastLine(Path log) {
        try {
            return Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank())
                    .reduce((a, b) -> b)
                    .map(l -> " (QEMU: " + l.strip() + ")")
                    .orElse("");
        } catch (IOException e) {
            return "";
        }
    }
}
