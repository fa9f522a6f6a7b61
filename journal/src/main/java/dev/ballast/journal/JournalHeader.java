package dev.ballast.journal;

import java.util.Map;

/**
 * The first document of a journal: its format version and the metadata its writer was given
 * (settings, seed, backend, versions, cost profile as JSON text, ...), in the writer's order.
 */
public record JournalHeader(int formatVersion, Map<String, String> metadata) {
    public JournalHeader {
        metadata = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metadata));
    }

    /** The value for {@code key}, or null. */
    public String get(String key) {
        return metadata.get(key);
    }
}
