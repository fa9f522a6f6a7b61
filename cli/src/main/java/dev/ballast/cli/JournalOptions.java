package dev.ballast.cli;

import java.nio.file.Path;

/**
 * Where a run's journal goes: {@code --journal DIR}, or none with {@code --no-journal}, or the
 * default place when neither is given ({@code dir} null, {@code enabled} true).
 */
public record JournalOptions(Path dir, boolean enabled) {
    public static final JournalOptions DEFAULT = new JournalOptions(null, true);
}
