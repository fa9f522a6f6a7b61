package dev.ballast.qemu.tap;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ballast.qemu.StreamCapabilities;
import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A QEMU source's QMP, as the tap uses it: what the stream does not say ({@link #context}: version, capabilities,
 * limits), whether its capabilities leave the stream readable ({@link #unreadable}), and, while the migration
 * runs, {@code query-migrate} polled into the journal ({@link #start}: dirty-log syncs, remaining bytes, dirty
 * rate). QMP serves one client at a time: the tap needs a QMP socket of its own ({@code -qmp} given twice).
 */
public final class QmpWatch implements AutoCloseable {
    private final QmpClient qmp;
    private volatile boolean stop;
    private Thread thread;
    private volatile String problem;

    public QmpWatch(QmpClient qmp) {
        this.qmp = qmp;
    }

    /** QEMU's version, the capabilities that are on, the source's limits. */
    public QemuStreamJournal.Context context(String source) throws IOException, QmpException {
        List<String> on = new ArrayList<>();
        for (JsonNode c : qmp.execute("query-migrate-capabilities")) {
            if (c.path("state").asBoolean()) on.add(c.path("capability").asText());
        }
        JsonNode p = qmp.execute("query-migrate-parameters");
        long downtimeMs = p.path("downtime-limit").asLong(300);
        long bandwidth = p.path("max-bandwidth").asLong(0);
        return new QemuStreamJournal.Context(
                qmp.qemuVersion(),
                on.isEmpty() ? "none" : String.join(" ", on),
                source,
                Math.max(1, downtimeMs) * 1_000_000L,
                Math.max(0, bandwidth));
    }

    /** One line naming the capabilities that are on and that the reader cannot follow, or null. */
    public String unreadable() throws IOException, QmpException {
        List<String> bad = StreamCapabilities.unreadable(qmp);
        return bad.isEmpty()
                ? null
                : "the source has migration capabilities on that Ballast cannot read the stream of: "
                        + String.join(", ", bad) + " (turn them off with migrate-set-capabilities)";
    }

    /** Polls {@code query-migrate} every {@code period} into {@code journal} until {@link #close()}. */
    public void start(QemuStreamJournal journal, Duration period) {
        thread = Thread.ofPlatform().name("qemu-tap-qmp").daemon().start(() -> {
            while (!stop) {
                try {
                    JsonNode info = qmp.execute("query-migrate");
                    JsonNode ram = info.path("ram");
                    if (!ram.isMissingNode()) {
                        journal.status(
                                ram.path("dirty-sync-count").asLong(),
                                ram.path("remaining").asLong(),
                                ram.path("dirty-pages-rate").asLong());
                    }
                    Thread.sleep(period.toMillis());
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | QmpException e) {
                    problem = e.getMessage();
                    return;
                }
            }
        });
    }

    /** Why polling stopped early, or null. */
    public String problem() {
        return problem;
    }

    /** Stops polling (waits for the poll in flight). */
    public void stop() throws InterruptedException {
        stop = true;
        if (thread != null) {
            thread.interrupt();
            thread.join(2000);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        qmp.close();
    }
}
