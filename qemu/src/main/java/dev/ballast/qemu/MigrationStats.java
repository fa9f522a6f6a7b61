package dev.ballast.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;

/**
 * QEMU's own account of a migration, from QMP's {@code query-migrate}: {@code ram.normal} pages sent whole,
 * {@code ram.duplicate} zero pages, bytes, and times in milliseconds as QEMU measures them.
 */
public record MigrationStats(
        String status,
        long normalPages,
        long zeroPages,
        long transferredBytes,
        long totalTimeMs,
        long downtimeMs,
        long setupTimeMs,
        long dirtySyncCount) {

    /** The figures of a {@code query-migrate} answer. */
    public static MigrationStats of(JsonNode info) {
        JsonNode ram = info.path("ram");
        return new MigrationStats(
                info.path("status").asText(),
                ram.path("normal").asLong(),
                ram.path("duplicate").asLong(),
                ram.path("transferred").asLong(),
                info.path("total-time").asLong(),
                info.path("downtime").asLong(),
                info.path("setup-time").asLong(),
                ram.path("dirty-sync-count").asLong());
    }

    /** Sets the bandwidth and downtime limits, starts {@code migrate uri}, and polls until it ends. */
    public static MigrationStats migrate(
            QmpClient qmp, String uri, long maxBandwidthBytesPerSecond, long downtimeLimitMs, Duration timeout)
            throws IOException, QmpException, InterruptedException {
        qmp.execute(
                "migrate-set-parameters",
                Map.of("max-bandwidth", maxBandwidthBytesPerSecond, "downtime-limit", downtimeLimitMs));
        qmp.execute("migrate", Map.of("uri", uri));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode info = qmp.execute("query-migrate");
            String status = info.path("status").asText();
            if (status.equals("completed")) {
                return of(info);
            }
            if (status.equals("failed") || status.equals("cancelled")) {
                throw new QmpException("migration to " + uri + " " + status + ": "
                        + info.path("error-desc").asText("QEMU gave no reason"));
            }
            if (System.nanoTime() > deadline) {
                qmp.execute("migrate_cancel");
                throw new QmpException(
                        "migration to " + uri + " still " + status + " after " + timeout.toSeconds() + " s; cancelled");
            }
            Thread.sleep(20);
        }
    }

    /** Polls {@code query-status} until it reads {@code want}; returns the last status read. */
    public static String awaitStatus(QmpClient qmp, String want, Duration timeout)
            throws IOException, QmpException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String status;
        do {
            status = qmp.execute("query-status").path("status").asText();
            if (status.equals(want)) {
                return status;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        return status;
    }
}
