package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ballast.journal.JournalReader;
import dev.ballast.journal.JournalWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile journals, as a user would meet them: a real run's journal cut at every document boundary and
 * at many offsets inside documents (the file truncated there, or its tail zeroed as a crash leaves it),
 * a header swapped in from another run, an empty queue file, a damaged {@code metadata.cq4t}. Every
 * command ends within seconds with one line and no Java class name, never writes into the journal it
 * reads, and a cut journal replays up to its last complete event and says it was cut short.
 *
 * <p>The expected answers come from this test's own walk of Chronicle's excerpt headers (4-byte
 * length words: bit 31 not complete, bit 30 metadata, 4-byte aligned), not from the reader under test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileJournalTest {
    /** Generous: catches a command that waits for Chronicle (46 s, 10 s), not a slow machine. */
    static final long BOUND_NS = 10_000_000_000L;

    static final Pattern JAVA_CLASS = Pattern.compile(
            "\\b[A-Z][A-Za-z0-9]*(Exception|Error)\\b|\\([A-Z][A-Za-z0-9]+\\)\\s*$|\\bjava\\.|net\\.openhft|\\bat [a-z]+\\.");
    static final Pattern POSITION = Pattern.compile("event \\d+|Chronicle index 0x[0-9a-f]+|file offset \\d+");

    @TempDir
    static Path tmp;

    Cli cli;
    /** A real run's journal re-batched into many small documents. */
    Path small;

    Path seed1;
    Path seed2;
    Path queueName;
    byte[] original;
    long originalSize;
    /** Data documents of {@link #small} in file order. */
    List<Doc> docs;

    long totalEvents;

    record Doc(long start, int length, int kind, long first, int count) {
        long end() {
            return start + length;
        }
    }

    @BeforeAll
    void makeJournals() throws IOException {
        Backends backends = Backends.discover();
        assumeTrue(
                backends.all().stream().anyMatch(b -> b.name().equals("sim") && !(b instanceof FakeBackend)),
                "no sim backend registered");
        cli = new Cli(tmp, backends);
        seed1 = run("seed1", "1");
        seed2 = run("seed2", "2");
        small = tmp.resolve("small");
        try (JournalReader r = JournalReader.open(seed1);
                JournalWriter w = JournalWriter.create(
                        small,
                        r.header().metadata(),
                        JournalWriter.Settings.defaults().withMaxRecordsPerDocument(100))) {
            long i = 0;
            while (r.next()) {
                if (i % 100 == 0) while (w.events() < i) Thread.onSpinWait(); // whole documents of 100
                w.publish(
                        r.record().type(),
                        r.record().timeNs(),
                        r.record().a(),
                        r.record().b(),
                        r.record().c());
                i++;
            }
            totalEvents = i;
        }
        Path q = queueFile(small);
        queueName = q.getFileName();
        original = Files.readAllBytes(q);
        originalSize = original.length;
        docs = walk(original);
        assertThat(docs.stream().filter(d -> d.kind() == KIND_BATCH).count())
                .as("batch documents")
                .isGreaterThan(10);
    }

    private Path run(String name, String seed) {
        Path dir = tmp.resolve(name);
        Cli.Result r = cli.run(
                "run",
                "--mem",
                "64M",
                "--workload",
                "compile",
                "--policy",
                "hint",
                "--seed",
                seed,
                "--journal",
                dir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        return dir;
    }

    static final int KIND_HEADER = 0x44484A42;
    static final int KIND_BATCH = 0x54424A42;
    static final int KIND_FOOTER = 0x54464A42;

    /** The data documents of a queue file, by Chronicle's excerpt headers. */
    static List<Doc> walk(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        List<Doc> out = new ArrayList<>();
        int pos = 0;
        while (pos + 4 <= file.length) {
            int h = b.getInt(pos);
            if (h == 0 || h < 0) break;
            int length = h & 0x3FFF_FFFF;
            if ((h & 0x4000_0000) == 0) {
                int kind = b.getInt(pos + 4);
                long first = kind == KIND_BATCH ? b.getLong(pos + 12) : -1;
                int count = kind == KIND_BATCH ? b.getInt(pos + 20) : 0;
                out.add(new Doc(pos + 4, length, kind, first, count));
            }
            pos = (pos + 4 + length + 3) & ~3;
        }
        return out;
    }

    static Path queueFile(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
    }

    /** The journal's files and a hash of each: a command must leave them as they were. */
    static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir).sorted()) {
            for (Path p : s.toList()) {
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(Files.readAllBytes(p));
                m.put(
                        p.getFileName().toString() + " " + Files.size(p) + " " + Files.getLastModifiedTime(p),
                        Long.toHexString(crc.getValue()));
            }
        }
        return m;
    }

    /** A copy of the small journal whose queue file holds the first {@code cut} bytes, then zeros up to its size if {@code zeroTail}. */
    Path cutCopy(String name, long cut, boolean zeroTail) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(small.resolve("metadata.cq4t"), dir.resolve("metadata.cq4t"));
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve(queueName).toFile(), "rw")) {
            f.write(original, 0, (int) cut);
            if (zeroTail) f.setLength(docs.getLast().end() + (1 << 20)); // zeros past the data, as a crash leaves them
        }
        return dir;
    }

    /** Runs a command against journal {@code dir}: within the bound, at most one line on stderr, no class name, nothing written. */
    Cli.Result command(Path dir, String... args) throws IOException {
        Map<String, String> before = snapshot(dir);
        long t0 = System.nanoTime();
        Cli.Result r = cli.run(args);
        long ns = System.nanoTime() - t0;
        String what = String.join(" ", args);
        assertThat(ns).as("%s took %d ms: %s", what, ns / 1_000_000, r.err()).isLessThan(BOUND_NS);
        assertThat(r.errLines()).as(what).hasSizeLessThanOrEqualTo(1);
        if (!r.err().isEmpty()) {
            String line = r.errLines().getFirst();
            assertThat(line).as(what).startsWith("ballast: ");
            assertThat(JAVA_CLASS.matcher(line).find())
                    .as("%s: a Java class name in: %s", what, line)
                    .isFalse();
            if (line.contains("damaged journal"))
                assertThat(POSITION.matcher(line).find())
                        .as("%s: no position in %s", what, line)
                        .isTrue();
        }
        assertThat(snapshot(dir)).as("%s wrote into the journal", what).isEqualTo(before);
        return r;
    }

    static final Pattern REPLAYED = Pattern.compile("replayed (\\d+) of (\\d+) events");

    /** True if document {@code d} reads as written after a cut at {@code cut}: it ends before the cut, or the bytes zeroed were zeros. */
    boolean intact(Doc d, long cut, boolean zeroTail) {
        if (d.end() <= cut) return true;
        if (!zeroTail || cut < d.start() - 4) return false;
        for (long i = cut; i < d.end(); i++) if (original[(int) i] != 0) return false;
        return true;
    }

    /** Events in the batch documents that read as written after the cut, up to the first that does not. */
    long completeEvents(long cut, boolean zeroTail) {
        long n = 0;
        for (Doc d : docs) {
            if (!intact(d, cut, zeroTail)) break;
            if (d.kind() == KIND_BATCH) n = d.first() + d.count();
        }
        return n;
    }

    boolean headerComplete(long cut, boolean zeroTail) {
        return intact(docs.getFirst(), cut, zeroTail);
    }

    /** Offsets to cut at: every document boundary, and many offsets inside documents and Chronicle's own header. */
    TreeSet<Long> cutOffsets() {
        TreeSet<Long> cuts = new TreeSet<>(List.of(0L, 2L, 100L, 200L, 1000L, 262_384L, 400_000L));
        for (Doc d : docs) {
            long s = d.start() - 4; // Chronicle's length word
            for (long o : new long[] {
                s,
                s + 2,
                d.start(),
                d.start() + 1,
                d.start() + 8,
                d.start() + 20,
                d.start() + d.length() / 3,
                d.start() + d.length() / 2,
                d.end() - 40,
                d.end() - 1,
                d.end()
            }) {
                if (o > 0 && o <= docs.getLast().end()) cuts.add(o);
            }
        }
        return cuts;
    }

    @Test
    void aJournalCutAnywhereReplaysUpToItsLastCompleteEventOrNamesTheDamage() throws IOException {
        int tried = 0;
        int replayedToLastComplete = 0;
        int beforeHeader = 0;
        List<String> failures = new ArrayList<>();
        for (boolean zero : new boolean[] {false, true}) {
            for (long cut : cutOffsets()) {
                tried++;
                Path dir = cutCopy((zero ? "zeroed-" : "cut-") + cut, cut, zero);
                Cli.Result r;
                try {
                    r = command(dir, "replay", dir.toString());
                } catch (AssertionError e) {
                    failures.add((zero ? "zeroed from " : "truncated at ") + cut + ": "
                            + e.getMessage().strip());
                    continue;
                }
                String how = (zero ? "zeroed from " : "truncated at ") + cut + ": exit " + r.exitCode() + " "
                        + r.out().strip() + r.err().strip();
                long expected = completeEvents(cut, zero);
                boolean complete = intact(docs.getLast(), cut, zero);
                if (!headerComplete(cut, zero)) {
                    if (r.exitCode() != ExitCodes.ERROR || !r.err().contains("damaged journal")) failures.add(how);
                    else beforeHeader++;
                    continue;
                }
                Matcher m = REPLAYED.matcher(r.out());
                if (complete) {
                    if (r.exitCode() == 0 && r.out().contains("every decision matches, digest"))
                        replayedToLastComplete++;
                    else failures.add(how);
                } else if (r.exitCode() == 0
                        && m.find()
                        && Long.parseLong(m.group(1)) == expected
                        && Long.parseLong(m.group(2)) == expected
                        && r.out().contains("cut short")) {
                    replayedToLastComplete++;
                } else {
                    failures.add(how + " (expected " + expected + " events)");
                }
            }
        }
        System.out.printf(
                "journal cuts (%d documents): %d tried, %d replay up to their last complete event (or in full),"
                        + " %d cut before the header is whole are one damaged-journal line with a position, %d neither%n",
                docs.size(), tried, replayedToLastComplete, beforeHeader, failures.size());
        assertThat(failures).as("of %d cuts", tried).isEmpty();
    }

    @Test
    void everyJournalCommandEndsInOneLineOnACutJournal() throws IOException {
        for (long cut : new long[] {
            docs.get(3).start() + 100,
            docs.get(7).end(),
            docs.getLast().start() + 10,
            docs.getFirst().start() + 10
        }) {
            Path dir = cutCopy("cmd-" + cut, cut, false);
            boolean readable = headerComplete(cut, false);
            Cli.Result inspect = command(dir, "inspect", dir.toString(), "--events", "0:3");
            assertThat(inspect.exitCode()).as(inspect.err()).isEqualTo(readable ? ExitCodes.OK : ExitCodes.ERROR);
            Cli.Result diff = command(dir, "diff", dir.toString(), small.toString());
            // readable: the same run, or one cut short of events (as diff(1): 0 or 1); else trouble (2)
            if (readable) assertThat(diff.exitCode()).as(diff.err()).isIn(0, 1);
            else assertThat(diff.exitCode()).as(diff.err()).isEqualTo(JournalCommands.DIFF_TROUBLE);
            if (!readable) assertThat(diff.err()).contains("damaged journal");
            Cli.Result report = command(
                    dir,
                    "report",
                    dir.toString(),
                    "-o",
                    tmp.resolve("r-" + cut + ".html").toString());
            assertThat(report.exitCode()).as(report.err()).isEqualTo(readable ? ExitCodes.OK : ExitCodes.ERROR);
        }
    }

    @Test
    void aHeaderFromAnotherRunIsDamage() throws IOException {
        byte[] a = Files.readAllBytes(queueFile(seed1));
        byte[] b = Files.readAllBytes(queueFile(seed2));
        Doc ha = walk(a).getFirst();
        Doc hb = walk(b).getFirst();
        assertThat(ha.length())
                .as("headers of the same length, so one fits in place of the other")
                .isEqualTo(hb.length());
        assertThat(ha.start()).isEqualTo(hb.start());
        Path swapped = tmp.resolve("swapped");
        Files.createDirectories(swapped);
        Files.copy(seed2.resolve("metadata.cq4t"), swapped.resolve("metadata.cq4t"));
        System.arraycopy(a, (int) ha.start(), b, (int) hb.start(), ha.length());
        Files.write(swapped.resolve(queueFile(seed2).getFileName()), b);

        for (String[] args : List.of(
                new String[] {"replay", swapped.toString()},
                new String[] {"inspect", swapped.toString(), "--events", "0:3"},
                new String[] {"diff", seed2.toString(), swapped.toString()},
                new String[] {
                    "report",
                    swapped.toString(),
                    "-o",
                    tmp.resolve("swapped.html").toString()
                })) {
            Cli.Result r = command(swapped, args);
            int damaged = args[0].equals("diff") ? JournalCommands.DIFF_TROUBLE : ExitCodes.ERROR;
            assertThat(r.exitCode()).as("%s: %s%s", args[0], r.out(), r.err()).isEqualTo(damaged);
            assertThat(r.err())
                    .as(args[0])
                    .startsWith("ballast: damaged journal " + swapped)
                    .contains("another run");
        }
    }

    @Test
    void anEmptyQueueFileIsAnsweredAtOnceWithAPosition() throws IOException {
        Path dir = cutCopy("empty", 0, false);
        assertThat(Files.size(dir.resolve(queueName))).isZero();
        for (String[] args : List.of(
                new String[] {"replay", dir.toString()},
                new String[] {"inspect", dir.toString(), "--events", "0:3"},
                new String[] {"diff", dir.toString(), small.toString()},
                new String[] {
                    "report", dir.toString(), "-o", tmp.resolve("empty.html").toString()
                })) {
            Cli.Result r = command(dir, args);
            assertThat(r.exitCode())
                    .as(args[0])
                    .isEqualTo(args[0].equals("diff") ? JournalCommands.DIFF_TROUBLE : ExitCodes.ERROR);
            assertThat(r.err())
                    .as(args[0])
                    .startsWith("ballast: damaged journal " + dir)
                    .contains("file offset 0")
                    .contains("empty");
        }
    }

    /** Chronicle's own header at the start of the queue file garbled (where Chronicle said "Unexpected magic number"). */
    @Test
    void garbageInChroniclesOwnHeaderIsDamageWithAPosition() throws IOException {
        Random random = new Random(23);
        int[][] ranges = {{0, 4}, {0, 8}, {0, 200}, {2, 6}, {196, 204}};
        for (int[] range : ranges) {
            for (boolean zero : new boolean[] {false, true}) {
                Path dir = cutCopy(
                        "garbled-" + range[0] + "-" + range[1] + (zero ? "-zero" : ""),
                        docs.getLast().end(),
                        true);
                byte[] bytes = new byte[range[1] - range[0]];
                if (!zero) random.nextBytes(bytes);
                try (RandomAccessFile f =
                        new RandomAccessFile(dir.resolve(queueName).toFile(), "rw")) {
                    f.seek(range[0]);
                    f.write(bytes);
                }
                for (String[] args : List.of(
                        new String[] {"replay", dir.toString()},
                        new String[] {"inspect", dir.toString(), "--events", "0:3"})) {
                    Cli.Result r = command(dir, args);
                    assertThat(r.exitCode())
                            .as("%s %s: %s", dir, args[0], r.out())
                            .isEqualTo(ExitCodes.ERROR);
                    assertThat(r.err())
                            .as(args[0])
                            .startsWith("ballast: damaged journal " + dir)
                            .contains("file offset");
                }
            }
        }
    }

    /**
     * {@code metadata.cq4t} is Chronicle's bookkeeping (roll cycle, index counters), not journal data: whatever
     * happens to it, the journal's events are intact and every command reads them as before, quickly.
     */
    @Test
    void aDamagedMetadataFileDoesNotStopAJournalBeingRead() throws IOException {
        Cli.Result pristine = cli.run("replay", small.toString());
        assertThat(pristine.exitCode()).as(pristine.err()).isZero();
        String digest = pristine.out().replaceAll(".*digest ([0-9a-f]{16}).*\\R?", "$1");
        byte[] meta = Files.readAllBytes(small.resolve("metadata.cq4t"));
        Random random = new Random(17);
        Map<String, byte[]> variants = new LinkedHashMap<>();
        variants.put("truncated-0", new byte[0]);
        variants.put("truncated-100", java.util.Arrays.copyOf(meta, 100));
        variants.put("zeroed", new byte[meta.length]);
        byte[] noise = new byte[meta.length];
        random.nextBytes(noise);
        variants.put("random", noise);
        byte[] flipped = meta.clone();
        for (int i = 0; i < 64; i++) flipped[random.nextInt(512)] ^= (byte) (1 << random.nextInt(8));
        variants.put("flipped", flipped);
        variants.put("deleted", null);
        for (Map.Entry<String, byte[]> v : variants.entrySet()) {
            Path dir = cutCopy("meta-" + v.getKey(), docs.getLast().end(), true);
            if (v.getValue() == null) Files.delete(dir.resolve("metadata.cq4t"));
            else Files.write(dir.resolve("metadata.cq4t"), v.getValue());
            Cli.Result r = command(dir, "replay", dir.toString());
            assertThat(r.exitCode()).as("%s: %s", v.getKey(), r.err()).isZero();
            assertThat(r.out()).as(v.getKey()).contains("every decision matches, digest " + digest);
            Cli.Result inspect = command(dir, "inspect", dir.toString(), "--events", "5:2");
            assertThat(inspect.exitCode())
                    .as("%s: %s", v.getKey(), inspect.err())
                    .isZero();
            assertThat(inspect.out().lines()).as(v.getKey()).hasSize(2);
        }
    }
}
