package dev.ballast.journal;

import static dev.ballast.journal.JournalFormat.BATCH_COUNT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_FIRST_EVENT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_HEADER_ID_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_LAST_CHECKPOINT_OFFSET;
import static dev.ballast.journal.JournalFormat.BATCH_RECORDS_OFFSET;
import static dev.ballast.journal.JournalFormat.CHECKED_OFFSET;
import static dev.ballast.journal.JournalFormat.CRC_OFFSET;
import static dev.ballast.journal.JournalFormat.KIND_OFFSET;
import static dev.ballast.journal.JournalFormat.NO_INDEX;

import com.lmax.disruptor.BatchEventProcessor;
import com.lmax.disruptor.BatchEventProcessorBuilder;
import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.ExceptionHandler;
import com.lmax.disruptor.LiteBlockingWaitStrategy;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.WaitStrategy;
import com.lmax.disruptor.YieldingWaitStrategy;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.rollcycles.LargeRollCycles;
import net.openhft.chronicle.wire.DocumentContext;

/**
 * Writes one run's events into a journal ({@link JournalFormat}): producers on any thread
 * {@linkplain #publish publish} into a multi-producer LMAX Disruptor ring of preallocated slots
 * (claim, fill, publish in {@code finally}; no allocation per event), and one consumer thread
 * appends them in batches of up to {@link Settings#maxRecordsPerDocument()} records into a
 * Chronicle Queue, one document per batch, flushed at the end of every Disruptor batch.
 *
 * <p>Lifecycle: {@link #create} writes the header document and starts the consumer;
 * {@link #close()} drains the ring, writes the footer (event count and {@link JournalDigest
 * digest}) and closes the queue. A process that dies before {@code close()} leaves a journal that
 * reads up to its last complete batch ({@link JournalReader#cutShort()}).
 *
 * <p>After {@code close()} has begun, {@link #publish} and {@link #checkpoint} never block and
 * never throw: the event is dropped and counted in {@link #droppedAfterClose()}. (A vCPU or
 * device thread still running while the run closes its journal must not crash.)
 *
 * <p>If appending fails (disk full, ...) the consumer keeps draining the ring so producers never
 * block, drops everything after the failure, and {@code close()} throws a {@link JournalException}
 * naming the first event that was not written.
 */
public final class JournalWriter implements EventSink, AutoCloseable {

    /** How the consumer waits for events (and how producers wake it). */
    public enum Wait {
        /** Lock and condition; producers signal on every publish. */
        BLOCKING,
        /** Lock and condition; producers signal only when the consumer sleeps. */
        LITE_BLOCKING,
        /**
         * Yield 20 times, then park 1 ms at a time. The default: on a 2-core machine shared with the
         * guest and the engine it matched {@link #YIELDING}'s throughput under full load (the 64 Ki
         * ring absorbs a 1 ms nap at 20 M events/s) while an idle consumer burns about 3 % of a core
         * (Disruptor's default 200 retries / 100 ns park: about 25 %; {@link #YIELDING}: a whole core).
         */
        SLEEPING,
        /** Spin, then {@code Thread.yield()}: burns a core while idle. */
        YIELDING,
        /** Spins: burns a core while idle. For benchmarks on an otherwise idle machine only. */
        BUSY_SPIN;

        WaitStrategy create() {
            return switch (this) {
                case BLOCKING -> new BlockingWaitStrategy();
                case LITE_BLOCKING -> new LiteBlockingWaitStrategy();
                case SLEEPING -> new SleepingWaitStrategy(20, 1_000_000);
                case YIELDING -> new YieldingWaitStrategy();
                case BUSY_SPIN -> new BusySpinWaitStrategy();
            };
        }
    }

    /**
     * Tuning. {@code ringSize} is a power of two (slots of about 64 bytes each);
     * {@code maxRecordsPerDocument} bounds a batch document (4096 records = 160 KiB).
     */
    public record Settings(int ringSize, Wait waitStrategy, int maxRecordsPerDocument, StateTracker tracker) {
        public Settings {
            if (ringSize < 2 || Integer.bitCount(ringSize) != 1) {
                throw new IllegalArgumentException("ringSize=" + ringSize + ": must be a power of two >= 2");
            }
            Objects.requireNonNull(waitStrategy, "waitStrategy");
            if (maxRecordsPerDocument < 1 || maxRecordsPerDocument > JournalFormat.MAX_RECORDS_PER_BATCH) {
                throw new IllegalArgumentException("maxRecordsPerDocument=" + maxRecordsPerDocument
                        + ": must be in [1, " + JournalFormat.MAX_RECORDS_PER_BATCH + "]");
            }
        }

        public Settings(int ringSize, Wait waitStrategy, int maxRecordsPerDocument) {
            this(ringSize, waitStrategy, maxRecordsPerDocument, null);
        }

        public static Settings defaults() {
            return new Settings(1 << 16, Wait.SLEEPING, 4096, null);
        }

        public Settings withWaitStrategy(Wait w) {
            return new Settings(ringSize, w, maxRecordsPerDocument, tracker);
        }

        public Settings withRingSize(int size) {
            return new Settings(size, waitStrategy, maxRecordsPerDocument, tracker);
        }

        public Settings withMaxRecordsPerDocument(int max) {
            return new Settings(ringSize, waitStrategy, max, tracker);
        }

        /** Checkpoints from a tracker that follows the events on the consumer thread. */
        public Settings withTracker(StateTracker t) {
            if (t != null && (t.interval() < 1 || Long.bitCount(t.interval()) != 1)) {
                throw new IllegalArgumentException("tracker interval=" + t.interval() + ": must be a power of two");
            }
            return new Settings(ringSize, waitStrategy, maxRecordsPerDocument, t);
        }
    }

    /** A preallocated ring slot. */
    static final class Slot {
        static final int EVENT = 0;
        static final int CHECKPOINT = 1;
        static final int FOOTER = 2;

        int kind;
        int typeId;
        long timeNs;
        long a;
        long b;
        long c;
        byte[] payload;
    }

    private final Path directory;
    private final SingleChronicleQueue queue;
    private final RingBuffer<Slot> ring;
    private final BatchEventProcessor<Slot> processor;
    private final Consumer consumer;
    private final Thread thread;
    private final Object checkpointLock = new Object();
    private final AtomicLong droppedAfterClose = new AtomicLong();
    private volatile boolean closed;
    private boolean closeDone;

    private JournalWriter(Path directory, Map<String, String> metadata, Settings settings) {
        this.directory = directory;
        // A fixed clock keeps the whole journal in one cycle file, named after the day it was created.
        long createdMs = System.currentTimeMillis();
        try {
            this.queue = SingleChronicleQueueBuilder.single(directory.toFile())
                    .rollCycle(LargeRollCycles.HUGE_DAILY)
                    .indexSpacing(16)
                    .timeProvider(() -> createdMs)
                    .build();
        } catch (RuntimeException e) {
            throw new JournalException("cannot create journal in " + directory + ": " + describe(e), e);
        }
        this.ring = RingBuffer.createMultiProducer(
                Slot::new, settings.ringSize(), settings.waitStrategy().create());
        this.consumer = new Consumer(
                queue,
                JournalWriter.encodeHeader(metadata),
                settings.maxRecordsPerDocument(),
                droppedAfterClose,
                settings.tracker());
        this.processor = new BatchEventProcessorBuilder()
                .setMaxBatchSize(settings.maxRecordsPerDocument())
                .build(ring, ring.newBarrier(), consumer);
        this.processor.setExceptionHandler(consumer);
        ring.addGatingSequences(processor.getSequence());
        this.thread = new Thread(processor, "ballast-journal-" + directory.getFileName());
        thread.setDaemon(true);
        thread.start();
        try {
            consumer.started.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (consumer.failure != null) {
            closeQuietly();
            throw new JournalException(
                    "cannot start journal in " + directory + ": " + describe(consumer.failure), consumer.failure);
        }
    }

    /** Creates a journal in {@code directory} (created if missing; must hold no journal) with default settings. */
    public static JournalWriter create(Path directory, Map<String, String> metadata) {
        return create(directory, metadata, Settings.defaults());
    }

    /**
     * Creates a journal in {@code directory}, which is created if missing and must not already hold
     * a journal; writes the header with {@code metadata} (stored as given, in iteration order).
     */
    public static JournalWriter create(Path directory, Map<String, String> metadata, Settings settings) {
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(settings, "settings");
        try {
            Files.createDirectories(directory);
            try (var files = Files.list(directory)) {
                if (files.anyMatch(p -> p.getFileName().toString().endsWith(".cq4")
                        || p.getFileName().toString().endsWith(".cq4t"))) {
                    throw new JournalException("journal directory " + directory + " already holds a journal");
                }
            }
        } catch (IOException e) {
            throw new JournalException("cannot create journal directory " + directory + ": " + e.getMessage(), e);
        }
        return new JournalWriter(directory, metadata, settings);
    }

    /**
     * Publishes one event. Safe from any number of threads; does not allocate; blocks (spinning)
     * only while the ring is full. After {@link #close()} the event is dropped and counted.
     */
    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        int typeId = type.id(); // before claiming: nothing inside the claim may throw
        if (closed) {
            droppedAfterClose.incrementAndGet();
            return;
        }
        long seq = ring.next();
        try {
            Slot slot = ring.get(seq);
            slot.kind = Slot.EVENT;
            slot.typeId = typeId;
            slot.timeNs = timeNs;
            slot.a = a;
            slot.b = b;
            slot.c = c;
        } finally {
            ring.publish(seq);
        }
    }

    /**
     * Records a checkpoint, in order with the events: it belongs at the point in the stream where
     * exactly {@code eventNumber} events have been written before it, so call it when all events
     * before it have been published and none after it (from the thread that publishes, or with the
     * other producers quiet). A replay seeking to event N resumes from the last checkpoint at or
     * before N ({@link JournalReader#lastCheckpointAtOrBefore}). The payload is copied. A checkpoint
     * whose number does not match its place in the stream is not written; {@link #close()} then
     * throws an {@link IllegalStateException} naming it.
     *
     * @throws IllegalArgumentException if the payload is larger than
     *     {@value JournalFormat#MAX_CHECKPOINT_PAYLOAD} bytes or {@code eventNumber} is negative
     */
    public void checkpoint(long eventNumber, byte[] payload) {
        if (eventNumber < 0) throw new IllegalArgumentException("eventNumber=" + eventNumber + ": must be >= 0");
        if (payload.length > JournalFormat.MAX_CHECKPOINT_PAYLOAD) {
            throw new IllegalArgumentException("checkpoint payload of " + payload.length + " bytes exceeds "
                    + JournalFormat.MAX_CHECKPOINT_PAYLOAD);
        }
        byte[] copy = payload.clone();
        synchronized (checkpointLock) {
            if (closed) {
                droppedAfterClose.incrementAndGet();
                return;
            }
            long seq = ring.next();
            try {
                Slot slot = ring.get(seq);
                slot.kind = Slot.CHECKPOINT;
                slot.a = eventNumber;
                slot.payload = copy;
            } finally {
                ring.publish(seq);
            }
        }
    }

    /** The digest of the events written to the queue so far; after {@link #close()}, of all of them. */
    public long digest() {
        return consumer.writtenDigest;
    }

    /** Events written to the queue so far; after {@link #close()}, all of them. */
    public long events() {
        return consumer.writtenEvents;
    }

    /** Events and checkpoints published after {@link #close()} began, which were dropped. */
    public long droppedAfterClose() {
        return droppedAfterClose.get();
    }

    public Path directory() {
        return directory;
    }

    /**
     * Drains the ring, writes the footer and closes the queue. Idempotent.
     *
     * @throws JournalException if appending to the queue failed at some point
     * @throws IllegalStateException if a checkpoint was out of place (see {@link #checkpoint})
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closeDone) return;
            closeDone = true;
            synchronized (checkpointLock) {
                closed = true;
            }
            long seq = ring.next();
            try {
                ring.get(seq).kind = Slot.FOOTER;
            } finally {
                ring.publish(seq);
            }
            try {
                while (!consumer.finished.await(100, TimeUnit.MILLISECONDS)) {
                    if (!thread.isAlive()) break;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closeQuietly();
        }
        if (consumer.failure != null) {
            throw new JournalException(
                    "journal " + directory + " is incomplete: writing failed at event " + consumer.failedAtEvent + ": "
                            + describe(consumer.failure),
                    consumer.failedAtEvent,
                    JournalException.NONE,
                    consumer.failure);
        }
        if (consumer.checkpointProblem != null) {
            throw new IllegalStateException(consumer.checkpointProblem);
        }
    }

    private void closeQuietly() {
        processor.halt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        queue.close();
    }

    /** The first line of a failure's message, for a one-line error (no class name: the cause keeps it for BALLAST_DEBUG). */
    static String describe(Throwable t) {
        String m = t.getMessage();
        String line = m == null ? "" : m.strip().lines().findFirst().orElse("");
        return line.isEmpty() ? "an unexpected failure with no message" : line;
    }

    static byte[] encodeHeader(Map<String, String> metadata) {
        int size = JournalFormat.HEADER_ENTRIES_OFFSET;
        byte[][] parts = new byte[metadata.size() * 2][];
        int i = 0;
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            parts[i++] = Objects.requireNonNull(e.getKey(), "metadata key").getBytes(StandardCharsets.UTF_8);
            parts[i++] = Objects.requireNonNull(e.getValue(), () -> "metadata value of " + e.getKey())
                    .getBytes(StandardCharsets.UTF_8);
        }
        for (byte[] p : parts) size += Integer.BYTES + p.length;
        byte[] doc = new byte[size];
        RecordDescriptor.putInt(doc, KIND_OFFSET, JournalFormat.KIND_HEADER);
        RecordDescriptor.putLong(doc, JournalFormat.HEADER_MAGIC_OFFSET, JournalFormat.MAGIC);
        RecordDescriptor.putInt(doc, JournalFormat.HEADER_VERSION_OFFSET, JournalFormat.FORMAT_VERSION);
        RecordDescriptor.putInt(doc, JournalFormat.HEADER_ENTRY_COUNT_OFFSET, metadata.size());
        int p = JournalFormat.HEADER_ENTRIES_OFFSET;
        for (byte[] part : parts) {
            RecordDescriptor.putInt(doc, p, part.length);
            System.arraycopy(part, 0, doc, p + Integer.BYTES, part.length);
            p += Integer.BYTES + part.length;
        }
        CRC32C crc = new CRC32C();
        crc.update(doc, CHECKED_OFFSET, doc.length - CHECKED_OFFSET);
        RecordDescriptor.putInt(doc, CRC_OFFSET, (int) crc.getValue());
        return doc;
    }

    /** The single consumer: batches records into documents and appends them. Runs on {@link #thread}. */
    private static final class Consumer implements EventHandler<Slot>, ExceptionHandler<Slot> {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch finished = new CountDownLatch(1);
        private final SingleChronicleQueue queue;
        private final byte[] headerDocument;
        /** The header's checksum, which every later document carries ({@link JournalFormat}). */
        private final int headerId;

        private final int maxRecords;
        private final byte[] batch;
        private final byte[] small =
                new byte[Math.max(JournalFormat.FOOTER_LENGTH, JournalFormat.CHECKPOINT_PAYLOAD_OFFSET)];
        private final CRC32C crc = new CRC32C();
        private final JournalDigest digest = new JournalDigest();
        private final AtomicLong droppedAfterClose;
        private ExcerptAppender appender;

        private int pending; // records in batch, not yet appended
        private long nextEvent; // event number of the first pending record
        private long batches;
        private long lastCheckpointIndex = NO_INDEX;
        private boolean footerWritten;

        volatile long writtenEvents;
        volatile long writtenDigest;
        volatile Throwable failure;
        volatile long failedAtEvent = -1;
        volatile String checkpointProblem;

        private final StateTracker tracker;

        Consumer(
                SingleChronicleQueue queue,
                byte[] headerDocument,
                int maxRecords,
                AtomicLong droppedAfterClose,
                StateTracker tracker) {
            this.tracker = tracker;
            this.queue = queue;
            this.droppedAfterClose = droppedAfterClose;
            this.headerDocument = headerDocument;
            this.headerId = RecordDescriptor.getInt(headerDocument, CRC_OFFSET);
            this.maxRecords = maxRecords;
            this.batch = new byte[BATCH_RECORDS_OFFSET + maxRecords * RecordDescriptor.LENGTH];
            this.writtenDigest = digest.value();
        }

        @Override
        public void onStart() {
            try {
                appender = queue.createAppender();
                append(headerDocument, headerDocument.length);
            } catch (Throwable t) {
                fail(t);
            } finally {
                started.countDown();
            }
        }

        @Override
        public void onEvent(Slot slot, long sequence, boolean endOfBatch) {
            int kind = slot.kind;
            if (kind == Slot.EVENT) {
                if (failure == null && !footerWritten) {
                    RecordDescriptor.encode(
                            batch,
                            BATCH_RECORDS_OFFSET + pending * RecordDescriptor.LENGTH,
                            slot.typeId,
                            slot.timeNs,
                            slot.a,
                            slot.b,
                            slot.c);
                    digest.update(slot.typeId, slot.timeNs, slot.a, slot.b, slot.c);
                    long number = nextEvent + pending;
                    if (++pending == maxRecords) flush();
                    if (tracker != null) track(number, slot);
                } else if (footerWritten) {
                    droppedAfterClose.incrementAndGet(); // a producer that raced close()
                }
            } else if (kind == Slot.CHECKPOINT) {
                byte[] payload = slot.payload;
                slot.payload = null;
                if (failure == null && !footerWritten) {
                    flush();
                    writeCheckpoint(slot.a, payload);
                } else if (footerWritten) {
                    droppedAfterClose.incrementAndGet();
                }
            } else if (kind == Slot.FOOTER) {
                if (!footerWritten) {
                    flush();
                    writeFooter();
                    footerWritten = true;
                    finished.countDown();
                }
            }
            if (endOfBatch) flush();
        }

        private void flush() {
            if (pending == 0 || failure != null) return;
            try {
                RecordDescriptor.putInt(batch, KIND_OFFSET, JournalFormat.KIND_BATCH);
                RecordDescriptor.putLong(batch, BATCH_FIRST_EVENT_OFFSET, nextEvent);
                RecordDescriptor.putInt(batch, BATCH_COUNT_OFFSET, pending);
                RecordDescriptor.putInt(batch, BATCH_HEADER_ID_OFFSET, headerId);
                RecordDescriptor.putLong(batch, BATCH_LAST_CHECKPOINT_OFFSET, lastCheckpointIndex);
                int length = BATCH_RECORDS_OFFSET + pending * RecordDescriptor.LENGTH;
                checksum(batch, length);
                append(batch, length);
                batches++;
                nextEvent += pending;
                pending = 0;
                // digest first: a reader that sees the new event count then sees its digest too
                writtenDigest = digest.value();
                writtenEvents = nextEvent;
            } catch (Throwable t) {
                fail(t);
            }
        }

        /** Feeds the tracker and, every interval, stores its state as the checkpoint after this event. */
        private void track(long number, Slot slot) {
            tracker.onEvent(number, EventType.byId(slot.typeId), slot.timeNs, slot.a, slot.b, slot.c);
            if (((number + 1) & (tracker.interval() - 1)) == 0) {
                byte[] payload = tracker.checkpoint();
                if (payload != null && payload.length <= JournalFormat.MAX_CHECKPOINT_PAYLOAD) {
                    flush();
                    writeCheckpoint(number + 1, payload);
                }
            }
        }

        private void writeCheckpoint(long eventNumber, byte[] payload) {
            if (eventNumber != nextEvent) {
                if (checkpointProblem == null) {
                    checkpointProblem = "checkpoint for event " + eventNumber + " was published after " + nextEvent
                            + " events and was not written: publish a checkpoint right after its last event";
                }
                return;
            }
            try {
                int length = JournalFormat.CHECKPOINT_PAYLOAD_OFFSET + payload.length;
                byte[] doc = new byte[length];
                RecordDescriptor.putInt(doc, KIND_OFFSET, JournalFormat.KIND_CHECKPOINT);
                RecordDescriptor.putLong(doc, JournalFormat.CHECKPOINT_EVENT_OFFSET, eventNumber);
                RecordDescriptor.putLong(doc, JournalFormat.CHECKPOINT_PREVIOUS_OFFSET, lastCheckpointIndex);
                RecordDescriptor.putInt(doc, JournalFormat.CHECKPOINT_LENGTH_OFFSET, payload.length);
                RecordDescriptor.putInt(doc, JournalFormat.CHECKPOINT_HEADER_ID_OFFSET, headerId);
                System.arraycopy(payload, 0, doc, JournalFormat.CHECKPOINT_PAYLOAD_OFFSET, payload.length);
                checksum(doc, length);
                lastCheckpointIndex = append(doc, length);
            } catch (Throwable t) {
                fail(t);
            }
        }

        private void writeFooter() {
            if (failure != null) return;
            try {
                byte[] doc = small;
                RecordDescriptor.putInt(doc, KIND_OFFSET, JournalFormat.KIND_FOOTER);
                RecordDescriptor.putLong(doc, JournalFormat.FOOTER_EVENTS_OFFSET, nextEvent);
                RecordDescriptor.putLong(doc, JournalFormat.FOOTER_DIGEST_OFFSET, digest.value());
                RecordDescriptor.putLong(doc, JournalFormat.FOOTER_LAST_CHECKPOINT_OFFSET, lastCheckpointIndex);
                RecordDescriptor.putLong(doc, JournalFormat.FOOTER_BATCHES_OFFSET, batches);
                RecordDescriptor.putInt(doc, JournalFormat.FOOTER_HEADER_ID_OFFSET, headerId);
                RecordDescriptor.putInt(doc, JournalFormat.FOOTER_RESERVED_OFFSET, 0);
                checksum(doc, JournalFormat.FOOTER_LENGTH);
                append(doc, JournalFormat.FOOTER_LENGTH);
            } catch (Throwable t) {
                fail(t);
            }
        }

        private void checksum(byte[] doc, int length) {
            crc.reset();
            crc.update(doc, CHECKED_OFFSET, length - CHECKED_OFFSET);
            RecordDescriptor.putInt(doc, CRC_OFFSET, (int) crc.getValue());
        }

        /** Appends one document; returns its Chronicle index. */
        private long append(byte[] doc, int length) {
            try (DocumentContext dc = appender.writingDocument()) {
                Bytes<?> bytes = dc.wire().bytes();
                bytes.write(doc, 0, length);
            }
            return appender.lastIndexAppended();
        }

        private void fail(Throwable t) {
            if (failure == null) {
                failedAtEvent = nextEvent;
                failure = t;
            }
            pending = 0;
        }

        @Override
        public void onShutdown() {
            finished.countDown();
        }

        @Override
        public void handleEventException(Throwable ex, long sequence, Slot event) {
            fail(ex);
        }

        @Override
        public void handleOnStartException(Throwable ex) {
            fail(ex);
            started.countDown();
        }

        @Override
        public void handleOnShutdownException(Throwable ex) {
            finished.countDown();
        }
    }
}
