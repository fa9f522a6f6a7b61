package dev.ballast.journal;

import static dev.ballast.journal.JournalFormat.BATCH_COUNT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_FIRST_EVENT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_HEADER_ID_OFFSET;
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
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;

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
 * The queue file is read below Chronicle ({@link QueueFile}): mapped read-only, its documents found
 * from Chronicle's excerpt headers, so a reader never writes into the journal, never reads past the
 * end of a file cut short, and needs neither {@code metadata.cq4t} nor Chronicle's index.
 * {@link #seek} finds the batch document holding an event by a binary search over the documents'
 * first-event numbers, never by reading events from the start.
 *
 * <p>Every document is checked as it is read: its checksum, its place in the event sequence, its
 * record types, and (format 2) that it carries the id of this journal's header. A journal whose
 * writer died ({@code kill -9}) or whose file was cut has no footer: it reads up to its last complete
 * batch and {@link #cutShort()} says so; a last document that is not whole (its checksum fails and
 * nothing complete follows it) is where the journal was cut. Damage is reported as a
 * {@link JournalException} whose one-line message names the event number and Chronicle index, or the
 * file offset. Not thread-safe: one reader per thread.
 */
public final class JournalReader implements AutoCloseable {

    /** Receives records from {@link #read}; the record is a flyweight valid only during the call. */
    @FunctionalInterface
    public interface RecordHandler {
        void onRecord(long eventNumber, EventRecord record);
    }

    /** The roll cycle {@link JournalWriter} writes with: it gives the Chronicle indexes in messages and checkpoint pointers. */
    private static final RollCycle ROLL_CYCLE = LargeRollCycles.HUGE_DAILY;

    private final Path directory;
    private final QueueFile file;
    private final int cycle;
    private final long lastSeq; // the last complete document used
    private final JournalHeader header;
    private final int headerId; // what every later document carries: the header's checksum (format 2), 0 (format 1)
    private final JournalFooter footer;
    private final long footerIndex;
    private final long lastCheckpointIndexAtEnd;
    private final long events;
    private final String cutShortAt;
    private final CRC32C crc = new CRC32C();
    private final EventRecord record = new EventRecord();

    /** The working document: the last one read (probes, checks). */
    private byte[] doc = new byte[BATCH_RECORDS_OFFSET + 4096 * RecordDescriptor.LENGTH];
    /** The cursor's batch; swapped with {@link #doc} when a batch becomes current, so probes never clobber it. */
    private byte[] batchBuffer = new byte[BATCH_RECORDS_OFFSET + 4096 * RecordDescriptor.LENGTH];

    private int docLength;
    private long docIndex = NO_INDEX;

    // cursor state
    private long nextSeq; // the document the cursor reads next
    private long batchIndex = NO_INDEX;
    private long batchFirst;
    private int batchCount;
    private int recordIndex;
    private long position; // number of the record next() returns
    private long current = -1; // number of the record record() shows
    private boolean ended;

    private JournalReader(Path directory, QueueFile file) {
        this.directory = directory;
        this.file = file;
        this.cycle = cycleOf(file.path());
        if (file.documents() == 0) throw noHeader();

        // header
        readDocument(0);
        this.header = parseHeader();
        this.headerId = header.formatVersion() >= 2 ? RecordDescriptor.getInt(doc, CRC_OFFSET) : 0;

        // tail: footer, or the last complete batch
        JournalFooter f = null;
        long fIndex = NO_INDEX;
        long lastCheckpoint = NO_INDEX;
        long available = 0;
        long last = file.documents() - 1;
        String cut = null;
        long follows = -2; // not looked yet
        for (long seq = last; seq > 0; seq--) {
            long index = indexOf(seq);
            boolean tooShort = file.length(seq) < CHECKED_OFFSET; // cut inside its length word, say
            if (!tooShort) readDocument(seq);
            if (seq == last && cut == null && (tooShort || !whole())) {
                // Not whole and last: the journal was cut inside it, unless complete documents follow.
                follows = followingDocument();
                if (follows < 0) {
                    cut = "the document at Chronicle index 0x" + Long.toHexString(index) + " (file offset "
                            + (file.offset(seq) - Integer.BYTES) + ") is incomplete";
                    last--;
                    continue;
                }
            }
            if (tooShort) readDocument(seq); // damage: says so with its position
            int kind = kind();
            if (kind == KIND_FOOTER && seq == last) {
                verifyChecksum(-1);
                int length = header.formatVersion() >= 2 ? JournalFormat.FOOTER_LENGTH : JournalFormat.FOOTER_LENGTH_V1;
                if (docLength < length) throw damage("garbled footer document (" + docLength + " bytes)", -1, index);
                f = new JournalFooter(
                        getLong(JournalFormat.FOOTER_EVENTS_OFFSET),
                        getLong(JournalFormat.FOOTER_DIGEST_OFFSET),
                        getLong(JournalFormat.FOOTER_BATCHES_OFFSET));
                if (header.formatVersion() >= 2)
                    checkHeaderId(getInt(JournalFormat.FOOTER_HEADER_ID_OFFSET), f.events(), index);
                fIndex = index;
                lastCheckpoint = getLong(JournalFormat.FOOTER_LAST_CHECKPOINT_OFFSET);
                available = f.events();
                break;
            } else if (kind == KIND_CHECKPOINT) {
                verifyChecksum(-1);
                checkHeaderId(
                        getInt(JournalFormat.CHECKPOINT_HEADER_ID_OFFSET),
                        getLong(JournalFormat.CHECKPOINT_EVENT_OFFSET),
                        index);
                if (lastCheckpoint == NO_INDEX) lastCheckpoint = index;
            } else if (kind == KIND_BATCH) {
                long first = getLong(BATCH_FIRST_EVENT_OFFSET);
                verifyChecksum(first);
                checkHeaderId(getInt(BATCH_HEADER_ID_OFFSET), first, index);
                if (lastCheckpoint == NO_INDEX) lastCheckpoint = getLong(BATCH_LAST_CHECKPOINT_OFFSET);
                available = first + getInt(BATCH_COUNT_OFFSET);
                break;
            } else {
                throw damage("garbled document (" + JournalFormat.kindName(kind) + ")", -1, index);
            }
        }
        if (f == null) {
            // No footer: the writer died or the file was cut, or a damaged document hides the rest.
            // Complete documents after where the walk stopped tell them apart.
            if (follows == -2) follows = followingDocument();
            if (follows >= 0) {
                throw damage(
                        directory,
                        "after",
                        "the next document is unreadable, but complete documents" + " follow it (file offset " + follows
                                + ")",
                        available,
                        indexOf(last + 1),
                        null);
            }
            if (cut == null) cut = endOfData();
        }
        this.lastSeq = last;
        this.footer = f;
        this.footerIndex = fIndex;
        this.lastCheckpointIndexAtEnd = lastCheckpoint;
        this.events = available;
        this.cutShortAt = cut;
        this.nextSeq = 1;
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
        List<Path> queues;
        try (var files = Files.list(directory)) {
            queues = files.filter(p -> p.getFileName().toString().endsWith(".cq4"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new JournalException("cannot read journal directory " + directory + ": " + e.getMessage(), e);
        }
        if (queues.isEmpty()) throw new JournalException("no journal in " + directory + ": no queue file (*.cq4)");
        if (queues.size() > 1) {
            throw new JournalException("damaged journal " + directory + ": it holds " + queues.size() + " queue files ("
                    + queues.getFirst().getFileName() + " to "
                    + queues.getLast().getFileName() + "); a journal is one");
        }
        QueueFile file;
        try {
            file = QueueFile.open(queues.getFirst());
        } catch (IOException e) {
            throw new JournalException("cannot read journal " + directory + ": " + e.getMessage(), e);
        }
        try {
            return new JournalReader(directory, file);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
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

    /** Where a journal cut short ends, in words (e.g. {@code the queue file ends inside the document at file offset 547812}); null if it was not cut short. */
    public String cutShortAt() {
        return cutShortAt;
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
     * positions at the end. Binary search over the batch documents: reads O(log documents) document
     * headers, never the journal's events from its start.
     *
     * @throws IllegalArgumentException if {@code eventNumber} is negative or past {@link #events()}
     */
    public void seek(long eventNumber) {
        checkEventNumber(eventNumber);
        long seq = batchSeqContaining(Math.min(eventNumber, events - 1));
        current = -1;
        ended = false;
        if (seq < 0) { // no batch at all: an empty journal; continue after the header
            batchCount = 0;
            recordIndex = 0;
            position = 0;
            nextSeq = 1;
            return;
        }
        long index = indexOf(seq);
        nextSeq = seq;
        position = -1; // loadNextBatch takes the first event from the document it lands on
        if (!loadNextBatch() || batchIndex != index) {
            throw damage("batch document vanished while seeking", eventNumber, index);
        }
        if (eventNumber < batchFirst || eventNumber > batchFirst + batchCount) {
            throw damage(
                    "batch document holds events " + batchFirst + ".." + (batchFirst + batchCount - 1)
                            + " where the search expected event " + eventNumber,
                    eventNumber,
                    index);
        }
        recordIndex = (int) (eventNumber - batchFirst);
        position = eventNumber;
    }

    /**
     * The last checkpoint at or before {@code eventNumber} (its event number is at most
     * {@code eventNumber}), or null if there is none. Follows the checkpoint pointer of the batch
     * that holds the event: O(log documents), not a scan.
     */
    public Checkpoint lastCheckpointAtOrBefore(long eventNumber) {
        if (eventNumber < 0) throw new IllegalArgumentException("eventNumber=" + eventNumber + ": must be >= 0");
        long index;
        if (eventNumber >= events) {
            index = lastCheckpointIndexAtEnd;
        } else {
            long seq = batchSeqContaining(eventNumber);
            long batch = indexOf(seq);
            readDocument(seq);
            if (kind() != KIND_BATCH) throw damage("batch document expected", eventNumber, batch);
            verifyChecksum(eventNumber);
            index = getLong(BATCH_LAST_CHECKPOINT_OFFSET);
        }
        if (index == NO_INDEX) return null;
        long seq = ROLL_CYCLE.toSequenceNumber(index);
        if (index < 0 || seq <= 0 || seq > lastSeq) {
            throw damage("checkpoint pointer leads to no checkpoint", eventNumber, index);
        }
        readDocument(seq);
        if (kind() != KIND_CHECKPOINT) throw damage("checkpoint pointer leads to no checkpoint", eventNumber, index);
        verifyChecksum(-1);
        long at = getLong(JournalFormat.CHECKPOINT_EVENT_OFFSET);
        int length = getInt(JournalFormat.CHECKPOINT_LENGTH_OFFSET);
        if (length < 0 || length > docLength - JournalFormat.CHECKPOINT_PAYLOAD_OFFSET || at > eventNumber) {
            throw damage("garbled checkpoint document", eventNumber, index);
        }
        checkHeaderId(getInt(JournalFormat.CHECKPOINT_HEADER_ID_OFFSET), at, index);
        byte[] payload = new byte[length];
        System.arraycopy(doc, JournalFormat.CHECKPOINT_PAYLOAD_OFFSET, payload, 0, length);
        return new Checkpoint(at, payload, index);
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
            throw new JournalException(
                    "journal " + directory + " was cut short after " + events
                            + " events: it has no footer, so its digest cannot be verified",
                    events,
                    NO_INDEX,
                    null);
        }
        long savedPosition = position;
        JournalDigest digest = new JournalDigest();
        seek(0);
        while (true) {
            if (recordIndex < batchCount) {
                digest.update(
                        batchBuffer,
                        BATCH_RECORDS_OFFSET + recordIndex * RecordDescriptor.LENGTH,
                        batchCount - recordIndex);
                position += batchCount - recordIndex;
                recordIndex = batchCount;
            }
            if (ended || !loadNextBatch()) break;
        }
        if (digest.count() != footer.events()) {
            throw damage(
                    "holds " + digest.count() + " events but its footer says " + footer.events(),
                    digest.count(),
                    footerIndex);
        }
        if (digest.value() != footer.digest()) {
            throw damage(
                    "digest mismatch: records give " + JournalDigest.toHex(digest.value()) + ", footer says "
                            + JournalDigest.toHex(footer.digest()),
                    footer.events(),
                    footerIndex);
        }
        seek(savedPosition);
        return digest.value();
    }

    @Override
    public void close() {
        file.close();
    }

    // ---------------------------------------------------------------------------------------------

    /** No data document at all: say where the file stops making sense. */
    private JournalException noHeader() {
        String name = file.path().getFileName().toString();
        if (file.size() == 0) {
            return damageAtOffset(0, "the queue file " + name + " is empty (the writer died before it wrote anything)");
        }
        JournalException garbled = garbledBeforeHeader();
        if (garbled != null) return garbled;
        return damageAtOffset(
                file.end(),
                "no journal header: "
                        + switch (file.endReason()) {
                            case FILE_CUT ->
                                "the queue file " + name + " (" + file.size() + " bytes) ends inside a document";
                            case INCOMPLETE ->
                                "the document there is marked incomplete (the writer died while writing it, or the file is damaged there)";
                            case NOTHING_WRITTEN, END_OF_FILE -> "nothing was written after Chronicle's own header";
                        });
    }

    /** Largest part of the file searched for a header that Chronicle's garbled excerpt headers hide: it follows Chronicle's index, about 512 KiB in. */
    private static final long HEADER_SEARCH_BYTES = 16L << 20;

    /**
     * If a journal header lies in the file where the walk through Chronicle's excerpt headers did not
     * find it, Chronicle's own header or index excerpts before it are damaged: that damage, or null.
     */
    private JournalException garbledBeforeHeader() {
        long limit = Math.min(file.size(), HEADER_SEARCH_BYTES) - JournalFormat.HEADER_ENTRIES_OFFSET;
        for (long at = Integer.BYTES; at <= limit; at += Integer.BYTES) {
            if (file.intAt(at) == KIND_HEADER
                    && file.longAt(at + JournalFormat.HEADER_MAGIC_OFFSET) == JournalFormat.MAGIC) {
                if (file.documents() > 0 && file.offset(0) == at) return null;
                return damageAtOffset(
                        Math.min(file.end(), at),
                        "Chronicle's excerpt headers before the journal's header" + " (at file offset " + at
                                + ") are garbled");
            }
        }
        return null;
    }

    /** Why the documents end where they do, for a journal with no footer. */
    private String endOfData() {
        long at = file.end();
        return switch (file.endReason()) {
            case FILE_CUT -> "the queue file (" + file.size() + " bytes) ends inside the document at file offset " + at;
            case END_OF_FILE -> "the queue file ends at file offset " + at;
            case INCOMPLETE -> "the document at file offset " + at + " was never completed (the writer died)";
            case NOTHING_WRITTEN -> "nothing was written after file offset " + at + " (the writer died)";
        };
    }

    /** The file offset of a complete, checksum-valid document after the end of the walk, or -1. */
    private long followingDocument() {
        if (file.endReason() == QueueFile.End.END_OF_FILE) return -1;
        // FILE_CUT too: a garbled length that points past the end of the file looks like a cut, but
        // the documents after it are still there
        return JournalScan.findCompleteDocumentAfter(file.path(), file.end() + Integer.BYTES);
    }

    /** True if the document in {@link #doc} is whole: a known kind, a checksum that matches, a consistent length. */
    private boolean whole() {
        if (docLength < CHECKED_OFFSET) return false;
        int kind = kind();
        if (kind != KIND_BATCH && kind != KIND_CHECKPOINT && kind != KIND_FOOTER) return false;
        crc.reset();
        crc.update(doc, CHECKED_OFFSET, docLength - CHECKED_OFFSET);
        if ((int) crc.getValue() != RecordDescriptor.getInt(doc, CRC_OFFSET)) return false;
        return kind != KIND_BATCH
                || (docLength >= BATCH_RECORDS_OFFSET
                        && (long) RecordDescriptor.getInt(doc, BATCH_COUNT_OFFSET) * RecordDescriptor.LENGTH
                                == docLength - BATCH_RECORDS_OFFSET);
    }

    private void checkHeaderId(int id, long eventNumber, long index) {
        if (id != headerId) {
            throw damage(
                    header.formatVersion() >= 2
                            ? "its header belongs to another run (the header's id is " + hex(headerId)
                                    + ", this document carries " + hex(id) + ")"
                            : "a format 1 document with a non-zero reserved field (" + hex(id) + ")",
                    Math.max(eventNumber, 0),
                    index);
        }
    }

    private static String hex(int id) {
        return String.format("%08x", id);
    }

    /** Reads documents from the cursor until a batch; checks it and makes it current. If {@code position} is -1 the batch's first event is taken as is (after a seek). */
    private boolean loadNextBatch() {
        while (true) {
            if (nextSeq > lastSeq) {
                reachedEnd();
                return false;
            }
            readDocument(nextSeq++);
            int kind = kind();
            switch (kind) {
                case KIND_BATCH -> {
                    long first = getLong(BATCH_FIRST_EVENT_OFFSET);
                    verifyChecksum(position < 0 ? first : position);
                    int count = getInt(BATCH_COUNT_OFFSET);
                    if (count <= 0 || (long) count * RecordDescriptor.LENGTH != docLength - BATCH_RECORDS_OFFSET) {
                        throw damage(
                                "garbled batch document (count " + count + ", " + docLength + " bytes)",
                                first,
                                docIndex);
                    }
                    if (position >= 0 && first != position) {
                        throw damage(
                                "batch document starts at event " + first + " where event " + position
                                        + " was expected (a document is missing or repeated)",
                                position,
                                docIndex);
                    }
                    checkHeaderId(getInt(BATCH_HEADER_ID_OFFSET), first, docIndex);
                    for (int i = 0; i < count; i++) {
                        int typeId = RecordDescriptor.getU16(doc, BATCH_RECORDS_OFFSET + i * RecordDescriptor.LENGTH);
                        if (EventType.byId(typeId) == null) {
                            throw damage(
                                    "unknown event type id " + typeId + " (damaged, or written by a newer Ballast)",
                                    first + i,
                                    docIndex);
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
                case KIND_CHECKPOINT -> {
                    verifyChecksum(Math.max(position, 0));
                    checkHeaderId(getInt(JournalFormat.CHECKPOINT_HEADER_ID_OFFSET), Math.max(position, 0), docIndex);
                }
                case KIND_FOOTER -> {
                    verifyChecksum(position);
                    long total = getLong(JournalFormat.FOOTER_EVENTS_OFFSET);
                    if (total != position) {
                        throw damage(
                                "footer says " + total + " events but " + position + " were read", position, docIndex);
                    }
                    ended = true;
                    return false;
                }
                default ->
                    throw damage(
                            "unexpected " + JournalFormat.kindName(kind) + " document",
                            Math.max(position, 0),
                            docIndex);
            }
        }
    }

    /** No more complete documents: fine only where the journal says it ends. */
    private void reachedEnd() {
        long at = indexOf(nextSeq);
        if (footer != null) {
            throw damage("the next document is unreadable; the footer lies beyond it", position, at);
        }
        if (position < events) {
            throw damage(
                    "the next document is unreadable; complete documents up to event " + events + " lie beyond it",
                    position,
                    at);
        }
        ended = true;
    }

    /** The sequence number of the batch document holding {@code eventNumber}, or -1 if there are no batches. */
    private long batchSeqContaining(long eventNumber) {
        long lo = 1;
        long hi = lastSeq;
        long best = -1;
        while (lo <= hi) {
            long mid = (lo + hi) >>> 1;
            long found = -1;
            long firstEvent = 0;
            for (long s = mid; s <= hi; s++) { // skip checkpoints and the footer
                long first = peekBatchFirstEvent(s);
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
            throw new IllegalArgumentException("event " + eventNumber + " is outside the journal (it holds " + events
                    + " events" + (footer == null ? ", cut short" : "") + ")");
        }
    }

    private long indexOf(long seq) {
        return ROLL_CYCLE.toIndex(cycle, seq);
    }

    /** The cycle a queue file's name gives (days since 1970 for the daily cycles), or 0: only for the indexes printed. */
    private static int cycleOf(Path queueFile) {
        String name = queueFile.getFileName().toString();
        if (name.length() < 8) return 0;
        try {
            return (int) LocalDate.parse(name.substring(0, 8), DateTimeFormatter.BASIC_ISO_DATE)
                    .toEpochDay();
        } catch (DateTimeParseException e) {
            return 0;
        }
    }

    /** The first event number of the batch document {@code seq}, read in place; -1 if it is not a batch. The batch found last is checked in full when it is loaded. */
    private long peekBatchFirstEvent(long seq) {
        if (file.length(seq) < BATCH_RECORDS_OFFSET || file.getInt(seq, KIND_OFFSET) != KIND_BATCH) return -1;
        return file.getLong(seq, BATCH_FIRST_EVENT_OFFSET);
    }

    /** Copies document {@code seq} into {@link #doc}. */
    private void readDocument(long seq) {
        docIndex = indexOf(seq);
        int length = file.length(seq);
        if (length < CHECKED_OFFSET) {
            docLength = 0;
            throw damage("garbled document of " + length + " bytes", Math.max(position, 0), docIndex);
        }
        if (length > doc.length)
            doc = new byte[(int) Math.min(Integer.MAX_VALUE - 16, Math.max(length, doc.length * 2L))];
        file.copy(seq, doc);
        docLength = length;
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
        if (kind() != KIND_HEADER
                || docLength < JournalFormat.HEADER_ENTRIES_OFFSET
                || getLong(JournalFormat.HEADER_MAGIC_OFFSET) != JournalFormat.MAGIC) {
            long at = file.offset(0);
            if (doc[docLength - 1]
                    == 0) { // a header never ends in a zero byte: this one was cut, the rest never written
                int zeros = docLength;
                while (zeros > 0 && doc[zeros - 1] == 0) zeros--;
                throw damage(
                        "the header document (file offset " + at + ") was cut: its bytes from file offset "
                                + (at + zeros) + " on are zeros",
                        -1,
                        index);
            }
            JournalException garbled = garbledBeforeHeader();
            if (garbled != null) throw garbled;
            throw new JournalException(
                    "not a Ballast journal: " + directory + " (its first document, at file offset " + at
                            + ", has no journal header)",
                    -1,
                    index,
                    null);
        }
        int version = getInt(JournalFormat.HEADER_VERSION_OFFSET);
        if (version < JournalFormat.OLDEST_FORMAT_VERSION || version > JournalFormat.FORMAT_VERSION) {
            throw new JournalException(
                    "journal " + directory + " has format version " + version
                            + "; this Ballast reads versions " + JournalFormat.OLDEST_FORMAT_VERSION + " to "
                            + JournalFormat.FORMAT_VERSION,
                    -1,
                    index,
                    null);
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
        return damage(directory, "at", what, eventNumber, index, null);
    }

    private JournalException damageAtOffset(long fileOffset, String what) {
        return new JournalException(
                "damaged journal " + directory + " at file offset " + fileOffset + ": " + what,
                JournalException.NONE,
                NO_INDEX,
                null);
    }

    /** {@code damaged journal DIR at event N (Chronicle index 0x...): what} — one line. */
    static JournalException damage(
            Path directory, String preposition, String what, long eventNumber, long index, Throwable cause) {
        StringBuilder sb = new StringBuilder("damaged journal ").append(directory);
        if (eventNumber >= 0) {
            sb.append(' ').append(preposition).append(" event ").append(eventNumber);
            if (index != NO_INDEX)
                sb.append(" (Chronicle index 0x")
                        .append(Long.toHexString(index))
                        .append(')');
        } else if (index != NO_INDEX) {
            sb.append(' ').append(preposition).append(" Chronicle index 0x").append(Long.toHexString(index));
        }
        sb.append(": ").append(what);
        return new JournalException(sb.toString(), eventNumber, index, cause);
    }
}
