package dev.ballast.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ballast.qemu.qmp.QmpClient;
import dev.ballast.qemu.qmp.QmpException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Which of the source's migration capabilities ({@code query-migrate-capabilities}) the stream reader can follow.
 * Most that change the stream are refused by the reader when their records appear (XBZRLE, compression, COMMAND
 * sections of return path and postcopy, the configuration subsection of x-ignore-shared). One leaves no mark at all
 * in QEMU 7.2's main stream: {@code multifd} sends pages over other connections, so a reader would see none and its
 * counts could not match {@code query-migrate}. Hence an allow-list, checked before migrating: capabilities known not
 * to change the stream; any other that is on is refused by name.
 */
public final class StreamCapabilities {
    /** On or off, the main stream's records are the same. */
    static final Set<String> READABLE = Set.of(
            "events", "auto-converge", "late-block-activate", "pause-before-switchover", "rdma-pin-all", "release-ram");

    private StreamCapabilities() {}

    /** The capabilities that are on and not known to leave the stream readable; empty when it can be read. */
    public static List<String> unreadable(QmpClient qmp) throws IOException, QmpException {
        List<String> out = new ArrayList<>();
        for (JsonNode c : qmp.execute("query-migrate-capabilities")) {
            String name = c.path("capability").asText();
            if (c.path("state").asBoolean() && !READABLE.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    /** Throws, naming them, when capabilities that the reader cannot follow are on. */
    public static void requireReadable(QmpClient qmp) throws IOException, QmpException {
        List<String> bad = unreadable(qmp);
        if (!bad.isEmpty()) {
            throw new QmpException("the source has migration capabilities on that Ballast cannot read the stream of: "
                    + String.join(", ", bad) + " (turn them off with migrate-set-capabilities)");
        }
    }
}
