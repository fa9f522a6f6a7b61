package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventType;
import java.nio.file.Path;
import java.util.Map;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Damaged journals are reported as one line naming the position; nothing else escapes. */
class JournalDamageTest {
    static final int EVENTS = 1000;
    static final int PER_DOCUMENT = 100;

    @TempDir
    Path tmp;

    /** 10 batch documents of 100 events, event i has a = i. */
    private Path journal(String name) {
        return journal(name, Map.of("k", "v"));
    }

    private Path journal(String name, Map<String, String> metadata) {
        Path dir = tmp.resolve(name);
        JournalWriter.Settings settings = JournalWriter.Settings.defaults().withMaxRecordsPerDocument(PER_DOCUMENT);
        try (JournalWriter w = JournalWriter.create(dir, metadata, settings)) {
            // publish in bursts that fill whole documents, so the layout is the same every time
            for (int i = 0; i < EVENTS; i++) {
                if (i % PER_DOCUMENT == 0) while (w.events() < i) Thread.onSpinWait();
                w.publish(EventType.SEND_NORMAL, i, i, 0, 1);
            }
        }
        return dir;
    }

    private static JournalFiles.Batch batch(Path dir, long eventNumber) throws Exception {
        return JournalFiles.batchHolding(dir, eventNumber);
    }

    private static String range(JournalFiles.Batch b) {
        return "events " + b.first() + ".." + (b.first() + b.count() - 1);
    }

    /** Reads everything: open, every record, verify. */
    private static void readAll(Path dir) {
        try (JournalReader r = JournalReader.open(dir)) {
            while (r.next()) {
                if (r.record().a() != r.eventNumber()) throw new AssertionError("event " + r.eventNumber());
            }
            r.verifyDigest();
        }
    }

    /**
     * Damage reported in one line, naming an event near {@code event}. How the writer's consumer
     * splits a burst into documents depends on timing, so the exact number the reader names (the
     * first event of the damaged document, or the last good one before it) may move by a document.
     */
    private static void assertDamageNear(ThrowingCallable read, long event, String... parts) {
        assertThatThrownBy(read).isInstanceOf(JournalException.class).satisfies(e -> {
            String m = e.getMessage();
            assertThat(m).doesNotContain("\n").startsWith("damaged journal ");
            for (String part : parts) assertThat(m).contains(part);
            java.util.regex.Matcher n =
                    java.util.regex.Pattern.compile("event (\\d+)").matcher(m);
            assertThat(n.find()).as(m).isTrue();
            assertThat(Long.parseLong(n.group(1)))
                    .as(m)
                    .isBetween(event - 2L * PER_DOCUMENT, event + 2L * PER_DOCUMENT);
        });
    }

    private static void assertDamage(ThrowingCallable read, String... parts) {
        assertThatThrownBy(read)
                .isInstanceOf(JournalException.class)
                .satisfies(e -> assertThat(e.getMessage())
                        .doesNotContain("\n")
                        .startsWith("damaged journal ")
                        .contains(parts));
    }

    @Test
    void shouldDetectAFlippedBitInARecordAndNameItsBatch() throws Exception {
        Path dir = journal("flip");
        JournalFiles.Batch b = batch(dir, 317);
        JournalFiles.xorByte(
                dir,
                b.offset() + JournalFormat.BATCH_RECORDS_OFFSET + (317 - b.first()) * RecordDescriptor.LENGTH + 20,
                0x04);
        assertDamage(
                () -> readAll(dir),
                "at event " + b.first() + " (Chronicle index 0x",
                "checksum mismatch in batch document",
                range(b));
        // seeking into the damaged batch reports it too; other batches still read
        try (JournalReader r = JournalReader.open(dir)) {
            assertDamage(() -> r.seek(317), "at event " + b.first(), "checksum mismatch");
            r.seek(700);
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isEqualTo(700);
        }
    }

    @Test
    void shouldDetectRecordsChangedWithAValidChecksumByTheDigest() throws Exception {
        Path dir = journal("forged");
        JournalFiles.Batch b = batch(dir, 500);
        long c = b.offset() + JournalFormat.BATCH_RECORDS_OFFSET + RecordDescriptor.C_OFFSET;
        JournalFiles.xorByte(dir, c, 0x01);
        JournalFiles.fixChecksum(dir, b.offset());
        try (JournalReader r = JournalReader.open(dir)) {
            assertDamage(r::verifyDigest, "at event 1000", "digest mismatch");
        }
    }

    @Test
    void shouldRejectAnUnknownEventTypeWithItsEventNumber() throws Exception {
        Path dir = journal("unknown");
        JournalFiles.Batch b = batch(dir, 242);
        long record = b.offset() + JournalFormat.BATCH_RECORDS_OFFSET + (242 - b.first()) * RecordDescriptor.LENGTH;
        JournalFiles.writeInt(dir, record, 63);
        JournalFiles.fixChecksum(dir, b.offset());
        assertDamage(() -> readAll(dir), "at event 242", "unknown event type id 63");
    }

    @Test
    void shouldDetectAMissingBatch() throws Exception {
        Path dir = journal("missing");
        JournalFiles.Batch b = batch(dir, 400);
        int header = JournalFiles.readInt(dir, b.offset() - 4);
        JournalFiles.writeInt(dir, b.offset() - 4, header | 0x4000_0000); // Chronicle now skips it as metadata
        assertDamage(
                () -> readAll(dir),
                "at event " + b.first(),
                "starts at event " + (b.first() + b.count()) + " where event " + b.first() + " was expected");
    }

    @Test
    void shouldNotMistakeADamagedDocumentHeaderForACutShortJournal() throws Exception {
        Path dir = journal("zeroed");
        JournalFiles.Batch b = batch(dir, 300); // several complete documents follow it
        JournalFiles.writeInt(dir, b.offset() - 4, 0); // looks like the end of the data to Chronicle
        // Whether Chronicle's own index still reaches the documents after it decides whether opening
        // or reading finds the damage; either way it is damage, never a journal cut short.
        assertDamageNear(() -> readAll(dir), b.first());

        Path dir2 = journal("incomplete");
        JournalFiles.Batch b2 = batch(dir2, 300);
        JournalFiles.writeInt(dir2, b2.offset() - 4, JournalFiles.readInt(dir2, b2.offset() - 4) | 0x8000_0000);
        assertDamageNear(() -> readAll(dir2), b2.first());
    }

    @Test
    void shouldReportAGarbledLengthThatPointsPastTheFile() throws Exception {
        Path dir = journal("huge");
        JournalFiles.Batch b = batch(dir, 300);
        JournalFiles.writeInt(dir, b.offset() - 4, 0x3FFF_FFF0);
        assertDamageNear(() -> readAll(dir), b.first());
    }

    @Test
    void shouldReadAQueueFileCutInsideADocumentUpToItsLastCompleteEvent() throws Exception {
        Path dir = journal("truncated");
        JournalFiles.Batch b = batch(dir, 500);
        JournalFiles.truncate(dir, b.offset() + 50);
        assertCutShortAt(
                dir,
                b.first(),
                "the queue file (" + (b.offset() + 50) + " bytes) ends inside the document at file offset "
                        + (b.offset() - 4));

        // the same cut as a crash leaves it: the file keeps its size, the rest reads as zeros
        Path zeroed = journal("zeroed-tail");
        JournalFiles.Batch z = batch(zeroed, 500);
        long size = java.nio.file.Files.size(JournalFiles.queueFile(zeroed));
        JournalFiles.truncate(zeroed, z.offset() + 50);
        JournalFiles.truncate(zeroed, size);
        assertCutShortAt(zeroed, z.first(), "(file offset " + (z.offset() - 4) + ") is incomplete");

        Path dir2 = journal("stub");
        JournalFiles.truncate(dir2, 1000);
        assertThatThrownBy(() -> JournalReader.open(dir2))
                .isInstanceOf(JournalException.class)
                .hasMessage("damaged journal " + dir2 + " at file offset 200: no journal header: the queue file "
                        + JournalFiles.queueFile(dir2).getFileName() + " (1000 bytes) ends inside a document");
    }

    @Test
    void shouldReadAJournalCutInsideTheLengthWordOfItsLastDocument() throws Exception {
        Path dir = journal("cut-length");
        long footer =
                JournalFiles.documentOffsets(dir, JournalFormat.KIND_FOOTER).getFirst();
        // a crash that left one byte of the footer's length word: a 4-byte document, then zeros
        JournalFiles.write(dir, footer - 4, new byte[JournalFormat.FOOTER_LENGTH + 4]);
        JournalFiles.write(dir, footer - 4, new byte[] {4});
        assertCutShortAt(dir, EVENTS, "(file offset " + (footer - 4) + ") is incomplete");
    }

    private static void assertCutShortAt(Path dir, long events, String where) {
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.cutShort()).isTrue();
            assertThat(r.events()).isEqualTo(events);
            assertThat(r.cutShortAt()).contains(where);
            long n = 0;
            while (r.next()) assertThat(r.record().a()).isEqualTo(n++);
            assertThat(n).isEqualTo(events);
            r.seek(events / 2);
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isEqualTo(events / 2);
        }
    }

    @Test
    void shouldAnswerAnEmptyQueueFileAtOnceWithAPosition() throws Exception {
        Path dir = journal("empty");
        JournalFiles.truncate(dir, 0);
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> JournalReader.open(dir))
                .isInstanceOf(JournalException.class)
                .hasMessage("damaged journal " + dir + " at file offset 0: the queue file "
                        + JournalFiles.queueFile(dir).getFileName()
                        + " is empty (the writer died before it wrote anything)");
        assertThat(System.nanoTime() - t0)
                .as("no wait for a header that never comes")
                .isLessThan(5_000_000_000L);
    }

    @Test
    void shouldNotNeedChroniclesMetadataFile() throws Exception {
        Path dir = journal("no-metadata");
        java.nio.file.Files.delete(dir.resolve("metadata.cq4t"));
        readAll(dir);
        assertThat(dir.resolve("metadata.cq4t")).as("a reader writes nothing").doesNotExist();
        Path garbled = journal("garbled-metadata");
        java.nio.file.Files.write(garbled.resolve("metadata.cq4t"), new byte[] {1, 2, 3});
        readAll(garbled);
    }

    @Test
    void shouldRejectAHeaderFromAnotherJournal() throws Exception {
        Path a = journal("a", Map.of("seed", "1"));
        Path b = journal("b", Map.of("seed", "2"));
        long header = JournalFiles.documentOffsets(a, JournalFormat.KIND_HEADER).getFirst();
        assertThat(JournalFiles.documentOffsets(b, JournalFormat.KIND_HEADER).getFirst())
                .isEqualTo(header);
        int length = JournalFiles.readInt(a, header - 4) & 0x3FFF_FFFF;
        byte[] doc = JournalFiles.read(a, header, length);
        JournalFiles.write(b, header, doc);
        assertDamage(() -> JournalReader.open(b).close(), "its header belongs to another run");
    }

    @Test
    void shouldRefuseAnUnknownFormatVersionBeforeTrustingAnythingElse() throws Exception {
        Path dir = journal("version");
        long header =
                JournalFiles.documentOffsets(dir, JournalFormat.KIND_HEADER).getFirst();
        JournalFiles.writeInt(dir, header + JournalFormat.HEADER_VERSION_OFFSET, 7);
        assertThatThrownBy(() -> JournalReader.open(dir))
                .isInstanceOf(JournalException.class)
                .hasMessage("journal " + dir + " has format version 7; this Ballast reads versions 1 to 2");
    }

    @Test
    void shouldRefuseAChronicleQueueThatIsNotAJournal() {
        Path dir = tmp.resolve("other");
        try (SingleChronicleQueue q =
                        SingleChronicleQueueBuilder.single(dir.toFile()).build();
                ExcerptAppender a = q.createAppender()) {
            a.writeText("hello, I am not a journal");
        }
        assertThatThrownBy(() -> JournalReader.open(dir))
                .isInstanceOf(JournalException.class)
                .hasMessageStartingWith("not a Ballast journal: " + dir);
    }

    @Test
    void shouldDetectADamagedHeader() throws Exception {
        Path dir = journal("header");
        long header =
                JournalFiles.documentOffsets(dir, JournalFormat.KIND_HEADER).getFirst();
        JournalFiles.xorByte(dir, header + JournalFormat.HEADER_ENTRIES_OFFSET + 5, 0x20);
        assertDamage(() -> JournalReader.open(dir).close(), "checksum mismatch in header document");
    }
}
