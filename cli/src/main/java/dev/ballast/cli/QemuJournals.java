package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
import dev.ballast.journal.JournalDigest;
import dev.ballast.qemu.tap.QemuManifest;
import dev.ballast.qemu.tap.QemuStreamJournal;
import dev.ballast.replay.JournalRecorder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/** What {@code tap} and {@code ingest --journal} share: a journal of a real QEMU's stream, opened when its blocks are known. */
final class QemuJournals implements QemuStreamJournal.Opener, AutoCloseable {
    private final Path dir;
    private JournalRecorder recorder;

    private QemuJournals(Path dir) {
        this.dir = dir;
    }

    /** A journal in {@code dir}, which must not hold one yet (checked now, before any QEMU connects). */
    static QemuJournals at(Path dir) {
        if (Files.exists(dir.resolve("metadata.cq4t")) || hasQueue(dir)) {
            throw new UsageException("--journal " + dir + ": already holds a journal");
        }
        return new QemuJournals(dir);
    }

    private static boolean hasQueue(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        try (var s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".cq4"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The default place: a new folder under {@code runs/} (or {@code $BALLAST_RUNS}) named after the time and {@code what}. */
    static Path defaultDir(Context ctx, String what) {
        Path runs = Path.of(ctx.env().getOrDefault("BALLAST_RUNS", "runs"));
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").format(LocalDateTime.now());
        Path d = runs.resolve(stamp + "-" + what);
        for (int i = 2; Files.exists(d); i++) d = runs.resolve(stamp + "-" + what + "-" + i);
        return d;
    }

    @Override
    public EventSink open(QemuManifest manifest) {
        Map<String, String> extra = new LinkedHashMap<>(manifest.metadata());
        extra.put("ballastVersion", Main.version());
        extra.put("javaVersion", System.getProperty("java.version"));
        extra.put("createdAt", java.time.Instant.now().toString());
        recorder = new JournalRecorder(dir, manifest.runManifest(), extra);
        return recorder;
    }

    /**
     * Opens and removes a throwaway journal, so that the real one, opened when the source's block list arrives while
     * the stream waits, does not pay for loading the journal's classes (about 0.3 s in a fresh JVM).
     */
    void warmUp() throws IOException {
        Path tmp = Files.createTempDirectory("ballast-warmup");
        try {
            var layout = dev.ballast.core.mem.RamLayout.of(
                    java.util.List.of(new dev.ballast.core.mem.RamLayout.Spec("warm-up", 0, 1)));
            var m = new dev.ballast.core.run.RunManifest(
                    QemuManifest.BACKEND,
                    "warm-up",
                    "qemu",
                    0,
                    layout,
                    dev.ballast.core.engine.EngineConfig.defaults(),
                    new dev.ballast.core.engine.GuestFeatures(false, false, false, 0),
                    dev.ballast.core.run.CostProfile.defaults());
            try (JournalRecorder r = new JournalRecorder(tmp.resolve("j"), m, Map.of())) {
                r.publish(
                        dev.ballast.core.event.EventType.QEMU_PAGE,
                        0,
                        0,
                        0,
                        dev.ballast.core.event.EventType.QemuPage.c(true, 9));
            }
        } finally {
            try (var walk = Files.walk(tmp)) {
                for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    boolean opened() {
        return recorder != null;
    }

    Path dir() {
        return dir;
    }

    /** Closes the journal (if it was opened) and says what it holds: {@code DIR (N events, digest D)}. */
    String closeAndDescribe() {
        if (recorder == null) return "no journal (the stream ended before RAM's block list)";
        recorder.close();
        return dir + " (" + recorder.events() + " events, digest " + JournalDigest.toHex(recorder.digest()) + ")";
    }

    @Override
    public void close() {
        if (recorder != null) recorder.close();
    }
}
