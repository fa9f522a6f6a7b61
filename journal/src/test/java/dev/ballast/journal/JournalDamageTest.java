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
        Path dir = tmp.resolve(name);
        JournalWriter.Settings settings = JournalWriter.Settings.defaults().withMaxRecordsPerDocument(PER_DOCUMENT);
        try (JournalWriter w = JournalWriter.create(dir, Map.of("k", "v"), settings)) {
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
            java.util.regex.Matcher n = java.util.regex.Pattern.compile("event (\\d+)").matcher(m);
            assertThat(n.find()).as(m).isTrue();
            assertThat(Long.parseLong(n.group(1))).as(m).isBetween(event - 2L * PER_DOCUMENT, event + 2L * PER_DOCUMENT);
        });
    }

    private static void assertDamage(ThrowingCallable read, String... parts) {
        assertThatThrownBy(read).isInstanceOf(JournalException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").startsWith("damaged journal ")
                        .contains(parts));
    }

    @Test
    void shouldDetectAFlippedBitInARecordAndNameItsBatch() throws Exception {
        Path dir = journal("flip");
        JournalFiles.Batch b = batch(dir, 317);
        JournalFiles.xorByte(dir, b.offset() + JournalFormat.BATCH_RECORDS_OFFSET
                + (317 - b.first()) * RecordDescriptor.LENGTH + 20, 0x04);
        assertDamage(() -> readAll(dir), "at event " + b.first() + " (Chronicle index 0x",
                "checksum mismatch in batch document", range(b));
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
        assertDamage(() -> readAll(dir), "at event " + b.first(),
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
    void shouldReportATruncatedQueueFile() throws Exception {
        Path dir = journal("truncated");
        JournalFiles.Batch b = batch(dir, 500);
        JournalFiles.truncate(dir, b.offset() + 50);
        assertDamageNear(() -> readAll(dir), b.first());

        Path dir2 = journal("stub");
        JournalFiles.truncate(dir2, 1000);
        assertDamage(() -> readAll(dir2), "garbled document");
    }

    @Test
    void shouldRefuseAnUnknownFormatVersionBeforeTrustingAnythingElse() throws Exception {
        Path dir = journal("version");
        long header = JournalFiles.documentOffsets(dir, JournalFormat.KIND_HEADER).getFirst();
        JournalFiles.writeInt(dir, header + JournalFormat.HEADER_VERSION_OFFSET, 7);
        assertThatThrownBy(() -> JournalReader.open(dir)).isInstanceOf(JournalException.class)
                .hasMessage("journal " + dir + " has format version 7; this Ballast reads only version 1");
    }

    @Test
    void shouldRefuseAChronicleQueueThatIsNotAJournal() {
        Path dir = tmp.resolve("other");
        try (SingleChronicleQueue q = SingleChronicleQueueBuilder.single(dir.toFile()).build();
                ExcerptAppender a = q.createAppender()) {
            a.writeText("hello, I am not a journal");
        }
        assertThatThrownBy(() -> JournalReader.open(dir)).isInstanceOf(JournalException.class)
                .hasMessageStartingWith("not a Ballast journal: " + dir);
    }

    @Test
    void shouldDetectADamagedHeader() throws Exception {
        Path dir = journal("header");
        long header = JournalFiles.documentOffsets(dir, JournalFormat.KIND_HEADER).getFirst();
        JournalFiles.xorByte(dir, header + JournalFormat.HEADER_ENTRIES_OFFSET + 5, 0x20);
        assertDamage(() -> JournalReader.open(dir).close(), "checksum mismatch in header document");
    }
}
