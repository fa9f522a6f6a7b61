package dev.ballast.qemu.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * QMP over a unix socket ({@code -qmp unix:PATH,server=on,wait=off}): reads the greeting, negotiates capabilities,
 * then runs one command at a time. QEMU writes one JSON object per line; asynchronous events that arrive between
 * a command and its answer are kept in {@link #events()}. Not thread-safe.
 */
public final class QmpClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SocketChannel channel;
    private final BufferedReader in;
    private final OutputStream out;
    private final JsonNode greeting;
    private final List<JsonNode> events = new ArrayList<>();

    private QmpClient(SocketChannel channel) throws IOException, QmpException {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        this.out = Channels.newOutputStream(channel);
        this.greeting = readMessage("the QMP greeting");
        if (!greeting.has("QMP")) {
            throw new QmpException("QMP socket did not greet with QMP: " + greeting);
        }
        execute("qmp_capabilities", Map.of());
    }

    /** Connects, retrying until the socket accepts or {@code timeout} passes (QEMU creates it while starting). */
    public static QmpClient connect(Path socket, Duration timeout) throws IOException, QmpException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(UnixDomainSocketAddress.of(socket));
                return new QmpClient(ch);
            } catch (IOException e) {
                ch.close();
                if (System.nanoTime() > deadline) {
                    throw new IOException("no QMP socket at " + socket + " after " + timeout.toMillis() + " ms"
                            + (Files.exists(socket) ? " (it exists but refuses: " + e.getMessage() + ")" : ""));
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for " + socket);
                }
            }
        }
    }

    /** QEMU's version from the greeting, e.g. {@code 7.2.22}. */
    public String qemuVersion() {
        JsonNode v = greeting.path("QMP").path("version").path("qemu");
        return v.path("major").asInt() + "." + v.path("minor").asInt() + "."
                + v.path("micro").asInt();
    }

    /** Runs {@code command} with {@code arguments} and returns its {@code return} value. */
    public JsonNode execute(String command, Map<String, ?> arguments) throws IOException, QmpException {
        ObjectNode request = JSON.createObjectNode();
        request.put("execute", command);
        if (!arguments.isEmpty()) {
            request.set("arguments", JSON.valueToTree(arguments));
        }
        out.write(JSON.writeValueAsBytes(request));
        out.write('\n');
        out.flush();
        while (true) {
            JsonNode m = readMessage("the answer to " + command);
            if (m.has("event")) {
                events.add(m);
            } else if (m.has("error")) {
                throw new QmpException("QEMU refused " + command + ": "
                        + m.path("error").path("desc").asText());
            } else if (m.has("return")) {
                return m.get("return");
            }
        }
    }

    public JsonNode execute(String command) throws IOException, QmpException {
        return execute(command, Map.of());
    }

    /** Events received so far, oldest first. */
    public List<JsonNode> events() {
        return events;
    }

    private JsonNode readMessage(String what) throws IOException, QmpException {
        String line = in.readLine();
        if (line == null) {
            throw new QmpException("QEMU closed its QMP socket before " + what);
        }
        return JSON.readTree(line);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
