package dev.ballast.cli;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.wire.Hello;
import dev.ballast.journal.JournalDigest;
import dev.ballast.journal.JournalWriter;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.replay.JournalRecorder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code ballast dest --journal DIR}: each migration served is journaled into a directory of its own under
 * {@code DIR}, named {@code <session>-<n>} (the session in hex, n from 1, the first free). Its header is a run
 * manifest (the HELLO's layout and poison byte; backend {@code kvm}) with {@value #KEY_ROLE}{@code =}
 * {@value #DESTINATION} and the session: a destination makes no decisions, so replay only checks it. Times are
 * from the migration's HELLO.
 */
final class DestJournals implements DestinationServer.Journals {
    /** The header key that says whose journal it is; {@value #DESTINATION} for a {@code ballast dest}'s. */
    static final String KEY_ROLE = "role";

    static final String DESTINATION = "destination";
    static final String KEY_SESSION = "session";

    private final Path dir;

    private DestJournals(Path dir) {
        this.dir = dir;
    }

    /** Journals under {@code dir}, created if missing; one that cannot be written to is refused now. */
    static DestJournals at(Path dir) {
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".ballast-write-check", ""));
        } catch (IOException | SecurityException e) {
            throw new UsageException("--journal " + dir + ": not a directory this process can write to", e);
        }
        return new DestJournals(dir);
    }

    @Override
    public DestinationServer.Journal open(Hello hello) {
        long t0 = System.nanoTime();
        String session = Long.toHexString(hello.sessionId());
        Path d = dir.resolve(session + "-1");
        for (int n = 2; Files.exists(d); n++) d = dir.resolve(session + "-" + n);
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put(KEY_ROLE, DESTINATION);
        extra.put(KEY_SESSION, "0x" + session);
        extra.put("ballastVersion", Main.version());
        extra.put("javaVersion", System.getProperty("java.version"));
        extra.put("createdAt", java.time.Instant.now().toString());
        JournalRecorder r = new JournalRecorder(d, manifest(hello), extra, JournalWriter.Wait.BLOCKING);
        return new DestinationServer.Journal() {
            @Override
            public void publish(EventType type, long timeNs, long a, long b, long c) {
                r.publish(type, timeNs - t0, a, b, c);
            }

            @Override
            public String closeAndDescribe() {
                r.close();
                return r.directory() + " (" + r.events() + " events, digest " + JournalDigest.toHex(r.digest()) + ")";
            }
        };
    }

    /** What a destination knows of the run: the guest's layout and poison byte; the rest is the source's. */
    static RunManifest manifest(Hello hello) {
        return new RunManifest(
                "kvm",
                "(the source's)",
                "(the source's)",
                0,
                hello.layout(),
                EngineConfig.defaults(),
                new GuestFeatures(true, true, true, hello.poisonByte()),
                CostProfile.defaults());
    }

    /**
     * Opens and removes a throwaway journal, so that a migration's, opened at its HELLO, does not pay for loading the
     * journal's classes (about 0.3 s in a fresh JVM).
     */
    static void warmUp() throws IOException {
        Path tmp = Files.createTempDirectory("ballast-warmup");
        try {
            var layout = dev.ballast.core.mem.RamLayout.of(
                    java.util.List.of(new dev.ballast.core.mem.RamLayout.Spec("warm-up", 0, 1)));
            var h = new Hello(dev.ballast.core.wire.WireFormat.VERSION, 1, 0, layout, false);
            try (DestinationServer.Journal j = new DestJournals(tmp).open(h)) {
                j.publish(EventType.FAULT, System.nanoTime(), 0, 0, 0);
            }
        } finally {
            try (var walk = Files.walk(tmp)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }
}
