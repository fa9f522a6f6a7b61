package dev.ballast.journal;

import static dev.ballast.journal.JournalFormat.BATCH_COUNT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_FIRST_EVENT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_LAST_CHECKPOINT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_RECORDS_OFFSET;
import static dev.ballast.journal.JournalFormat.CHECKED_OFFSET;
import static dev.ballast.journal.JournalFormat.CRC_OFFSET;
import static dev.ballast.journal.JournalFormat.KIND_BATCH;
import static dev.ballast.journal.JournalFormat.KIND_CHECKPOINT;
import static dev.ballast.journal.JournalFormat.KIND_FOOTER;
import static dev.ballast.journal.JournalFormat.KIND_HEADER;
import static dev.ballast.journal.JournalFormat.KIND_OFFSET;
import static dev.ballast.journal.JournalFormat.NO_INDEX;

import dev.ballast.core.event.EventType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Reads a journal written by {@link JournalWriter}: single-threaded, sequential and seekable.
 *
 * <p>Records are read through a cursor without allocation per record:
 * <pre>{@code
 * try (JournalReader r = JournalReader.open(dir)) {
 *     while (r.next()) {
 *         EventRecord e = r.record();      // a flyweight, valid until the next call
 *         ... r.eventNumber(), e.type(), e.a() ...
 *     }
 * }
 * }</pre>
 * {@link #seek} finds the batch document holding an event by a binary search over Chronicle's
 * index (documents' first-event numbers), never by reading from the start.
 *
 * <p>Every document is checked as it is read: its checksum, its place in the event sequence, its
 * record types. A journal whose writer died ({@code kill -9}) has no footer: it reads up to its
 * last complete batch and {@link #cutShort()} says so. Damage is reported as a
 * {@link JournalException} whose one-line message names the event number and Chronicle index.
 * Not thread-safe: one reader per thread.
 */
public final class JournalReader implements AutoCloseable {

    /** Receives records from {@link #read}; the record is a flyweight valid only during the call. */
    @FunctionalInterface
    public interface RecordHandler {
        void onRecord(long eventNumber, EventRecord record);
    }

    private final Path directory;
    private final SingleChronicleQueue queue;
    private final ExcerptTailer tailer;   // sequential cursor
    private final ExcerptTailer probe;    // random access: seek, tail, checkpoints
    private final RollCycle rollCycle;
    private final int cycle;
    private final long firstSeq;          // the header document
    private final long lastSeq;           // the last complete document
    private final JournalHeader header;
    private final JournalFooter footer;
    private final long footerIndex;
    private final long lastCheckpointIndexAtEnd;
    private final long events;
    private final CRC32C crc = new CRC32C();
    private final EventRecord record = new EventRecord();

    /** The working document: the last one read (probes, checks). */
    private byte[] doc = new byte[BATCH_RECORDS_OFFSET + 4096 * RecordDescriptor.LENGTH];
    /** The cursor's batch; swapped with {@link #doc} when a batch becomes current, so probes never clobber it. */
    private byte[] batchBuffer = new byte[BATCH_RECORDS_OFFSET + 4096 * RecordDescriptor.LENGTH];
    private int docLength;
    private long docIndex = NO_INDEX;
    private long docFileOffset = -1;

    // cursor state: the batch loaded in doc
    private long batchIndex = NO_INDEX;
    private long batchFirst;
    private int batchCount;
    private int recordIndex;
    private long position;               // number of the record next() returns
    private long current = -1;           // number of the record record() shows
    private boolean ended;

    private JournalReader(Path directory, SingleChronicleQueue queue) {
        this.directory = directory;
        this.queue = queue;
        this.rollCycle = queue.rollCycle();
        this.tailer = queue.createTailer();
        this.probe = queue.createTailer();

        long first = queue.firstIndex();
        long last = queue.lastIndex();
        if (first == Long.MAX_VALUE || last < 0 || last < first) {
            throw damage("no complete document (the writer died before writing the header)", -1, NO_INDEX);
        }
        this.cycle = rollCycle.toCycle(first);
        if (rollCycle.toCycle(last) != cycle) {
            throw damage("spans several cycle files (0x" + Integer.toHexString(cycle) + " to 0x"
                    + Integer.toHexString(rollCycle.toCycle(last)) + "); a journal is one file", -1, last);
        }
        this.firstSeq = rollCycle.toSequenceNumber(first);
        this.lastSeq = rollCycle.toSequenceNumber(last);

        // header
        tailer.toStart();
        if (!readDocument(tailer)) {
            throw damage("no complete document (the writer died before writing the header)", -1, first);
        }
        this.header = parseHeader();

        // tail: footer, or the last complete batch
        JournalFooter f = null;
        long fIndex = NO_INDEX;
        long lastCheckpoint = NO_INDEX;
        long available = 0;
        long endOfLastDocument = docFileOffset + docLength;
        for (long seq = lastSeq; seq > firstSeq; seq--) {
            long index = indexOf(seq);
            if (!moveAndRead(probe, index)) continue;
            if (seq == lastSeq) endOfLastDocument = docFileOffset + docLength;
            int kind = kind();
            if (kind == KIND_FOOTER && seq == lastSeq) {
                verifyChecksum(-1);
                f = new JournalFooter(getLong(JournalFormat.FOOTER_EVENTS_OFFSET),
                        getLong(JournalFormat.FOOTER_DIGEST_OFFSET), getLong(JournalFormat.FOOTER_BATCHES_OFFSET));
                fIndex = index;
                lastCheckpoint = getLong(JournalFormat.FOOTER_LAST_CHECKPOINT_OFFSET);
                available = f.events();
                break;
            } else if (kind == KIND_CHECKPOINT) {
                verifyChecksum(-1);
                if (lastCheckpoint == NO_INDEX) lastCheckpoint = index;
            } else if (kind == KIND_BATCH) {
                verifyChecksum(getLong(BATCH_FIRST_EVENT_OFFSET));
                if (lastCheckpoint == NO_INDEX) lastCheckpoint = getLong(BATCH_LAST_CHECKPOINT_OFFSET);
                available = getLong(BATCH_FIRST_EVENT_OFFSET) + getInt(BATCH_COUNT_OFFSET);
                break;
            } else {
                throw damage("garbled document (" + JournalFormat.kindName(kind) + ")", -1, index);
            }
        }
        if (f == null) {
            // No footer: the writer died, or a damaged document hides the rest from Chronicle.
            // Complete documents after the last one Chronicle shows tell the two apart.
            long found = JournalScan.findCompleteDocumentAfter(JournalScan.queueFile(directory), endOfLastDocument);
            if (found >= 0) {
                throw damage(directory, "after", "the next document is unreadable, but complete documents"
                        + " follow it (file offset " + found + ")", available, last, null);
            }
        }
        this.footer = f;
        this.footerIndex = fIndex;
        this.lastCheckpointIndexAtEnd = lastCheckpoint;
        this.events = available;
        this.docIndex = NO_INDEX;
        this.docLength = 0;
    }

    /**
     * Opens the journal in {@code directory}.
     *
     * @throws JournalException if there is no journal, its format version is unknown, or its header,
     *     footer or last batch is damaged
     */
    public static JournalReader open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new JournalException("no journal at " + directory + ": not a directory");
        }
        try (var files = Files.list(directory)) {
            if (files.noneMatch(p -> p.getFileName().toString().endsWith(".cq4"))) {
                throw new JournalException("no journal in " + directory + ": no queue file (*.cq4)");
            }
        } catch (IOException e) {
            throw new JournalException("cannot read journal directory " + directory + ": " + e.getMessage(), e);
        }
        SingleChronicleQueue queue;
        try {
            queue = SingleChronicleQueueBuilder.single(directory.toFile()).readOnly(true).build();
        } catch (RuntimeException | InternalError e) {
            throw new JournalException("cannot open journal " + directory + ": " + JournalWriter.describe(e), e);
        }
        try {
            return new JournalReader(directory, queue);
        } catch (JournalException e) {
            queue.close();
            throw e;
        } catch (RuntimeException | InternalError e) {
            JournalException located = locateDamage(directory, queue, e);
            queue.close();
            throw located;
        }
    }

    public Path directory() {
        return directory;
    }

    public JournalHeader header() {
        return header;
    }

    /** The footer, or null if the journal was cut short. */
    public JournalFooter footer() {
        return footer;
    }

    /** True if the writer never closed the journal (no footer): it reads up to its last complete batch. */
    public boolean cutShort() {
        return footer == null;
    }

    /** Events the journal holds: the footer's count, or if cut short, those up to the last complete batch. */
    public long events() {
        return events;
    }

    /**
     * Advances to the next record.
     *
     * @return false at the end of the journal
     * @throws JournalException if the next document is damaged
     */
    public boolean next() {
        while (recordIndex >= batchCount) {
            if (ended || !loadNextBatch()) return false;
        }
        record.wrap(batchBuffer, BATCH_RECORDS_OFFSET + recordIndex * RecordDescriptor.LENGTH);
        recordIndex++;
        current = position++;
        return true;
    }

    /** The record {@link #next()} moved to: a flyweight, valid until the next call on this reader. */
    public EventRecord record() {
        if (current < 0) throw new IllegalStateException("no current record: call next() first");
        return record;
    }

    /** The number of the record {@link #next()} moved to (0-based), or -1 before the first. */
    public long eventNumber() {
        return current;
    }

    /** The number of the record that {@link #next()} will return. */
    public long position() {
        return position;
    }

    /**
     * Hands up to {@code max} records to {@code handler}, in order.
     *
     * @return how many were handed over (fewer than {@code max} only at the end)
     */
    public long read(RecordHandler handler, long max) {
        long n = 0;
        while (n < max && next()) {
            handler.onRecord(current, record);
            n++;
        }
        return n;
    }

    /**
     * Positions the cursor so that {@link #next()} returns event {@code eventNumber}; {@code events()}
     * positions at the end. Binary search over the batch documents through Chronicle's index: reads
     * O(log documents) document headers, never the journal from its start.
     *
     * @throws IllegalArgumentException if {@code eventNumber} is negative or past {@link #events()}
     */
    public void seek(long eventNumber) {
        checkEventNumber(eventNumber);
        try {
            long seq = batchSeqContaining(Math.min(eventNumber, events - 1));
            current = -1;
            ended = false;
            if (seq < 0) { // no batch at all: an empty journal; continue after the header
                batchCount = 0;
                recordIndex = 0;
                position = 0;
                tailer.moveToIndex(indexOf(firstSeq));
                readDocument(tailer);
                return;
            }
            long index = indexOf(seq);
            if (!tailer.moveToIndex(index)) {
                throw damage("cannot move to batch document", eventNumber, index);
            }
            position = -1; // loadNextBatch takes the first event from the document it lands on
            if (!loadNextBatch() || batchIndex != index) {
                throw damage("batch document vanished while seeking", eventNumber, index);
            }
            if (eventNumber < batchFirst || eventNumber > batchFirst + batchCount) {
                throw damage("batch document holds events " + batchFirst + ".." + (batchFirst + batchCount - 1)
                        + " where the index search expected event " + eventNumber, eventNumber, index);
            }
            recordIndex = (int) (eventNumber - batchFirst);
            position = eventNumber;
        } catch (JournalException e) {
            throw e;
        } catch (RuntimeException | InternalError e) {
            throw damage("cannot read (" + JournalWriter.describe(e) + ")", eventNumber, NO_INDEX, e);
        }
    }

    /**
     * The last checkpoint at or before {@code eventNumber} (its event number is at most
     * {@code eventNumber}), or null if there is none. Follows the checkpoint pointer of the batch
     * that holds the event: O(log documents), not a scan.
     */
    public Checkpoint lastCheckpointAtOrBefore(long eventNumber) {
        if (eventNumber < 0) throw new IllegalArgumentException("eventNumber=" + eventNumber + ": must be >= 0");
        try {
            long index;
            if (eventNumber >= events) {
                index = lastCheckpointIndexAtEnd;
            } else {
                long seq = batchSeqContaining(eventNumber);
                long batch = indexOf(seq);
                if (!moveAndRead(probe, batch) || kind() != KIND_BATCH) {
                    throw damage("batch document expected", eventNumber, batch);
                }
                verifyChecksum(eventNumber);
                index = getLong(BATCH_LAST_CHECKPOINT_OFFSET);
            }
            if (index == NO_INDEX) return null;
            if (!moveAndRead(probe, index) || kind() != KIND_CHECKPOINT) {
                throw damage("checkpoint pointer leads to no checkpoint", eventNumber, index);
            }
            verifyChecksum(-1);
            long at = getLong(JournalFormat.CHECKPOINT_EVENT_OFFSET);
            int length = getInt(JournalFormat.CHECKPOINT_LENGTH_OFFSET);
            if (length < 0 || length > docLength - JournalFormat.CHECKPOINT_PAYLOAD_OFFSET || at > eventNumber) {
                throw damage("garbled checkpoint document", eventNumber, index);
            }
            byte[] payload = new byte[length];
            System.arraycopy(doc, JournalFormat.CHECKPOINT_PAYLOAD_OFFSET, payload, 0, length);
            return new Checkpoint(at, payload, index);
        } catch (JournalException e) {
            throw e;
        } catch (RuntimeException | InternalError e) {
            throw damage("cannot read (" + JournalWriter.describe(e) + ")", eventNumber, NO_INDEX, e);
        }
    }

    /**
     * Reads every record, recomputes the {@linkplain JournalDigest digest} and compares it and the
     * event count with the footer. The cursor is restored afterwards.
     *
     * @return the digest
     * @throws JournalException on a mismatch, on damage, or if the journal was cut short (no footer
     *     to compare with)
     */
    public long verifyDigest() {
        if (footer == null) {
            throw new JournalException("journal " + directory + " was cut short after " + events
                    + " events: it has no footer, so its digest cannot be verified", events, NO_INDEX, null);
        }
        long savedPosition = position;
        JournalDigest digest = new JournalDigest();
        seek(0);
        while (true) {
            if (recordIndex < batchCount) {
                digest.update(batchBuffer, BATCH_RECORDS_OFFSET + recordIndex * RecordDescriptor.LENGTH,
                        batchCount - recordIndex);
                position += batchCount - recordIndex;
                recordIndex = batchCount;
            }
            if (ended || !loadNextBatch()) break;
        }
        if (digest.count() != footer.events()) {
            throw damage("holds " + digest.count() + " events but its footer says " + footer.events(),
                    digest.count(), footerIndex);
        }
        if (digest.value() != footer.digest()) {
            throw damage("digest mismatch: records give " + JournalDigest.toHex(digest.value())
                    + ", footer says " + JournalDigest.toHex(footer.digest()), footer.events(), footerIndex);
        }
        seek(savedPosition);
        return digest.value();
    }

    @Override
    public void close() {
        queue.close();
    }

    // ---------------------------------------------------------------------------------------------

    /**
     * Chronicle failed while opening (typically on a garbled length that points past the file):
     * walks the documents from the start to name the last good event and the failing index.
     */
    private static JournalException locateDamage(Path directory, SingleChronicleQueue queue, Throwable original) {
        long events = 0;
        long index = NO_INDEX;
        try (ExcerptTailer t = queue.createTailer()) {
            t.toStart();
            while (true) {
                index = t.index();
                try (DocumentContext dc = t.readingDocument()) {
                    if (!dc.isPresent()) break;
                    index = dc.index();
                    Bytes<?> b = dc.wire().bytes();
                    long start = b.readPosition();
                    long length = b.readRemaining();
                    if (length >= BATCH_RECORDS_OFFSET && b.readInt(start + KIND_OFFSET) == KIND_BATCH) {
                        int count = b.readInt(start + BATCH_COUNT_OFFSET);
                        if (length != BATCH_RECORDS_OFFSET + (long) count * RecordDescriptor.LENGTH) {
                            return damage(directory, "at", "garbled batch document (" + length + " bytes for "
                                    + count + " records)", events, index, original);
                        }
                        events = b.readLong(start + BATCH_FIRST_EVENT_OFFSET) + count;
                    }
                }
            }
        } catch (RuntimeException | InternalError e) {
            return damage(directory, "at", "garbled document (" + JournalWriter.describe(e) + ")", events, index, e);
        }
        return damage(directory, "after", "cannot read the journal (" + JournalWriter.describe(original) + ")",
                events, index, original);
    }

    /**
     * Reads documents from the sequential tailer until a batch; checks it and makes it current.
     * If {@code position} is -1 the batch's first event is taken as is (after a seek).
     */
    private boolean loadNextBatch() {
        try {
            while (true) {
                if (!readDocument(tailer)) {
                    reachedEnd();
                    return false;
                }
                int kind = kind();
                switch (kind) {
                    case KIND_BATCH -> {
                        long first = getLong(BATCH_FIRST_EVENT_OFFSET);
                        verifyChecksum(position < 0 ? first : position);
                        int count = getInt(BATCH_COUNT_OFFSET);
                        if (count <= 0 || (long) count * RecordDescriptor.LENGTH != docLength - BATCH_RECORDS_OFFSET) {
                            throw damage("garbled batch document (count " + count + ", " + docLength + " bytes)",
                                    first, docIndex);
                        }
                        if (position >= 0 && first != position) {
                            throw damage("batch document starts at event " + first + " where event " + position
                                    + " was expected (a document is missing or repeated)", position, docIndex);
                        }
                        for (int i = 0; i < count; i++) {
                            int typeId = RecordDescriptor.getU16(doc, BATCH_RECORDS_OFFSET + i * RecordDescriptor.LENGTH);
                            if (EventType.byId(typeId) == null) {
                                throw damage("unknown event type id " + typeId
                                        + " (damaged, or written by a newer Ballast)", first + i, docIndex);
                            }
                        }
                        byte[] swap = batchBuffer;
                        batchBuffer = doc;
                        doc = swap;
                        batchIndex = docIndex;
                        batchFirst = first;
                        batchCount = count;
                        recordIndex = 0;
                        position = first;
                        return true;
                    }
                    case KIND_CHECKPOINT -> verifyChecksum(Math.max(position, 0));
                    case KIND_FOOTER -> {
                        verifyChecksum(position);
                        long total = getLong(JournalFormat.FOOTER_EVENTS_OFFSET);
                        if (total != position) {
                            throw damage("footer says " + total + " events but " + position + " were read",
                                    position, docIndex);
                        }
                        ended = true;
                        return false;
                    }
                    default -> throw damage("unexpected " + JournalFormat.kindName(kind) + " document",
                            Math.max(position, 0), docIndex);
                }
            }
        } catch (JournalException e) {
            throw e;
        } catch (RuntimeException | InternalError e) {
            throw damage("cannot read the next document (" + JournalWriter.describe(e) + ")",
                    Math.max(position, 0), docIndex, e);
        }
    }

    /** No more complete documents: fine only where the journal says it ends. */
    private void reachedEnd() {
        long at = tailer.index();
        if (footer != null) {
            throw damage("the next document is unreadable; the footer lies beyond it", position, at);
        }
        if (position < events) {
            throw damage("the next document is unreadable; complete documents up to event " + events
                    + " lie beyond it", position, at);
        }
        ended = true;
    }

    /** The sequence number of the batch document holding {@code eventNumber}, or -1 if there are no batches. */
    private long batchSeqContaining(long eventNumber) {
        long lo = firstSeq + 1;
        long hi = lastSeq;
        long best = -1;
        while (lo <= hi) {
            long mid = (lo + hi) >>> 1;
            long found = -1;
            long firstEvent = 0;
            for (long s = mid; s <= hi; s++) { // skip checkpoints and the footer
                long first = peekBatchFirstEvent(indexOf(s));
                if (first >= 0) {
                    found = s;
                    firstEvent = first;
                    break;
                }
            }
            if (found < 0 || firstEvent > eventNumber) {
                hi = mid - 1;
            } else {
                best = found;
                lo = found + 1;
            }
        }
        if (best < 0 && events > 0) {
            throw damage("no batch document holds event " + eventNumber, eventNumber, NO_INDEX);
        }
        return best;
    }

    private void checkEventNumber(long eventNumber) {
        if (eventNumber < 0 || eventNumber > events) {
            throw new IllegalArgumentException("event " + eventNumber + " is outside the journal (it holds "
                    + events + " events" + (footer == null ? ", cut short" : "") + ")");
        }
    }

    private long indexOf(long seq) {
        return rollCycle.toIndex(cycle, seq);
    }

    /**
     * The first event number of the batch document at {@code index}, read in place without copying
     * the document; -1 if there is no document there or it is not a batch. The batch found last is
     * checked in full when it is loaded.
     */
    private long peekBatchFirstEvent(long index) {
        if (!probe.moveToIndex(index)) return -1;
        try (DocumentContext dc = probe.readingDocument()) {
            if (!dc.isPresent()) return -1;
            Bytes<?> b = dc.wire().bytes();
            long start = b.readPosition();
            if (b.readRemaining() < BATCH_RECORDS_OFFSET || b.readInt(start + KIND_OFFSET) != KIND_BATCH) return -1;
            return b.readLong(start + BATCH_FIRST_EVENT_OFFSET);
        }
    }

    private boolean moveAndRead(ExcerptTailer t, long index) {
        return t.moveToIndex(index) && readDocument(t);
    }

    /** Copies the next complete document of {@code t} into {@link #doc}; false if there is none. */
    private boolean readDocument(ExcerptTailer t) {
        try (DocumentContext dc = t.readingDocument()) {
            if (!dc.isPresent()) return false;
            docIndex = dc.index();
            Bytes<?> bytes = dc.wire().bytes();
            docFileOffset = bytes.readPosition();
            long length = bytes.readRemaining();
            if (length < CHECKED_OFFSET || length > Integer.MAX_VALUE - 16) {
                throw damage("garbled document of " + length + " bytes", Math.max(position, 0), docIndex);
            }
            if (length > doc.length) doc = new byte[(int) Math.max(length, doc.length * 2L)];
            int n = bytes.read(doc, 0, (int) length);
            if (n != length) throw damage("truncated document", Math.max(position, 0), docIndex);
            docLength = (int) length;
            return true;
        }
    }

    private int kind() {
        return RecordDescriptor.getInt(doc, KIND_OFFSET);
    }

    private long getLong(int offset) {
        if (offset + Long.BYTES > docLength) throw damage("truncated document", Math.max(position, 0), docIndex);
        return RecordDescriptor.getLong(doc, offset);
    }

    private int getInt(int offset) {
        if (offset + Integer.BYTES > docLength) throw damage("truncated document", Math.max(position, 0), docIndex);
        return RecordDescriptor.getInt(doc, offset);
    }

    private void verifyChecksum(long eventNumber) {
        crc.reset();
        crc.update(doc, CHECKED_OFFSET, docLength - CHECKED_OFFSET);
        int expected = RecordDescriptor.getInt(doc, CRC_OFFSET);
        if ((int) crc.getValue() != expected) {
            String what = JournalFormat.kindName(kind());
            String where = "";
            if (kind() == KIND_BATCH && docLength >= BATCH_RECORDS_OFFSET) {
                long first = RecordDescriptor.getLong(doc, BATCH_FIRST_EVENT_OFFSET);
                int count = RecordDescriptor.getInt(doc, BATCH_COUNT_OFFSET);
                where = " (records claim events " + first + ".." + (first + count - 1) + ")";
            }
            throw damage("checksum mismatch in " + what + " document" + where, eventNumber, docIndex);
        }
    }

    private JournalHeader parseHeader() {
        long index = docIndex;
        if (kind() != KIND_HEADER || docLength < JournalFormat.HEADER_ENTRIES_OFFSET
                || getLong(JournalFormat.HEADER_MAGIC_OFFSET) != JournalFormat.MAGIC) {
            throw new JournalException("not a Ballast journal: " + directory + " (its first document has no journal header)",
                    -1, index, null);
        }
        int version = getInt(JournalFormat.HEADER_VERSION_OFFSET);
        if (version != JournalFormat.FORMAT_VERSION) {
            throw new JournalException("journal " + directory + " has format version " + version
                    + "; this Ballast reads only version " + JournalFormat.FORMAT_VERSION, -1, index, null);
        }
        verifyChecksum(-1);
        int entries = getInt(JournalFormat.HEADER_ENTRY_COUNT_OFFSET);
        Map<String, String> metadata = new LinkedHashMap<>();
        int p = JournalFormat.HEADER_ENTRIES_OFFSET;
        for (int i = 0; i < entries; i++) {
            String key = string(p);
            p += Integer.BYTES + getInt(p);
            String value = string(p);
            p += Integer.BYTES + getInt(p);
            metadata.put(key, value);
        }
        return new JournalHeader(version, metadata);
    }

    private String string(int p) {
        int length = getInt(p);
        if (length < 0 || p + Integer.BYTES + length > docLength) {
            throw damage("garbled header document", -1, docIndex);
        }
        return new String(doc, p + Integer.BYTES, length, StandardCharsets.UTF_8);
    }

    private JournalException damage(String what, long eventNumber, long index) {
        return damage(what, eventNumber, index, null);
    }

    private JournalException damage(String what, long eventNumber, long index, Throwable cause) {
        return damage(directory, "at", what, eventNumber, index, cause);
    }

    /** {@code damaged journal DIR at event N (Chronicle index 0x...): what} — one line. */
    static JournalException damage(Path directory, String preposition, String what, long eventNumber, long index,
            Throwable cause) {
        StringBuilder sb = new StringBuilder("damaged journal ").append(directory);
        if (eventNumber >= 0) {
            sb.append(' ').append(preposition).append(" event ").append(eventNumber);
            if (index != NO_INDEX) sb.append(" (Chronicle index 0x").append(Long.toHexString(index)).append(')');
        } else if (index != NO_INDEX) {
            sb.append(' ').append(preposition).append(" Chronicle index 0x").append(Long.toHexString(index));
        }
        sb.append(": ").append(what);
        return new JournalException(sb.toString(), eventNumber, index, cause);
    }
}
