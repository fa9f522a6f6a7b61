package dev.ballast.qemu.tap;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.qemu.stream.QemuStreamException;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.qemu.stream.SectionKind;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * A real QEMU's migration stream as Ballast events: give it to {@link QemuStreamReader#readRam} as the visitor, then
 * call {@link #completed}, {@link #refused} or {@link #failed}. Every event goes to the sink that {@link Opener}
 * returns once the RAM setup (the block list) has been read; nothing is published before that.
 *
 * <p>What it publishes, in stream order, each at the time the clock gives when the record was read:
 * <ul>
 *   <li>RAM's START section: {@code STEP}, {@code PHASE SETUP}; its end: {@code PHASE BULK 1}.</li>
 *   <li>every page record: {@code QEMU_PAGE block offset record} — the block's index in the stream's list, the page
 *       offset in it, zero or data and the record's bytes on the wire (8-byte header, the block name when the record
 *       has no CONTINUE flag, 1 or 4096 bytes).</li>
 *   <li>every PART or END section: {@code STEP} (a section is one round of QEMU's migration thread).</li>
 *   <li>a new pass: QEMU's sender scans the blocks in list order, pages ascending, and resumes where it stopped
 *       across sections and dirty-log syncs; after the last block it starts again at the first. So a page record at
 *       or before the previous one's (block, offset) starts the next pass: {@code ITERATION_END pass pages bytes},
 *       {@code PHASE ITERATE pass+1}. This is the sweep as the stream shows it: a sweep that found nothing dirty
 *       before the previous sweep's last page is not visible, so the count is a lower bound of QEMU's rounds.</li>
 *   <li>RAM's END section, sent with the guest stopped: {@code ITERATION_END}, {@code GUEST_RUN_STATE paused},
 *       {@code PHASE STOP_AND_COPY pass+1} (a pass of its own, as Ballast's engine counts the stop-and-copy;
 *       QEMU continues its scan in it); at RAM's end, its {@code ITERATION_END}.</li>
 *   <li>{@link #completed}: {@code PHASE COMPLETED}, {@code END COMPLETED streamBytes downtime} (downtime from the
 *       END section's arrival to the stream's end, as the reader saw them).</li>
 *   <li>{@link #refused}: {@code STREAM_REFUSED offset kind}, {@code LINK_FAILED}, {@code PHASE FAILED},
 *       {@code END FAILED}: the page events end at the last record the reader accepted.</li>
 *   <li>{@link #status} (from QMP's {@code query-migrate}, on another thread): {@code SYNC_BEGIN n} for each dirty-log
 *       sync QEMU has made since the last poll, and {@code QEMU_STATUS syncs remaining dirtyRate}.</li>
 * </ul>
 * No dirty-log events: the stream does not show which pages QEMU found dirty, only what it sent.
 *
 * <p>The page path allocates nothing: one publish of primitives and one clock reading per record. Not thread-safe
 * but for {@link #status}, which may be called from one other thread.
 */
public final class QemuStreamJournal implements QemuStreamVisitor {
    /** Where the events go, opened once the block list is known (a journal's header needs it). */
    @FunctionalInterface
    public interface Opener {
        EventSink open(QemuManifest manifest);
    }

    /** What the stream does not say: QEMU's version and capabilities, where the stream comes from, QEMU's limits. */
    public record Context(
            String qemuVersion, String capabilities, String source, long downtimeLimitNs, long bandwidthBytesPerSec) {
        /** Without QMP: nothing known beyond the stream. */
        public static Context streamOnly(String source) {
            return new Context(
                    "unknown (no QMP: the stream does not carry it; its format is QEMU 7.2's)",
                    "unknown (no QMP); the stream shows none that changes its records",
                    source,
                    QemuManifest.QEMU_DEFAULT_DOWNTIME_NS,
                    0);
        }
    }

    /** Refuses a stream this journal cannot hold (a guest beyond {@link QemuManifest#MAX_JOURNAL_BYTES}). */
    public static final class TooLargeException extends RuntimeException {
        TooLargeException(String message) {
            super(message);
        }
    }

    private static final int HEADER_BYTES = 8;

    private final Opener opener;
    private final LongSupplier clock;
    private volatile Context context;
    private final Object endLock = new Object();

    private volatile EventSink out;
    private QemuManifest manifest;
    private String machineType;
    private int[] nameBytes = new int[0];
    private long startNs;
    private long steps;
    private boolean named;
    private boolean inEnd;
    private int pass;
    private long passPages;
    private long passBytes;
    private long lastKey = -1;
    private long pauseNs = -1;
    private long records;
    private long lastSync;
    private volatile boolean ended;

    /** @param clock nanoseconds, read once per record (e.g. {@code System.nanoTime() - start}) */
    public QemuStreamJournal(Opener opener, Context context, LongSupplier clock) {
        this.opener = opener;
        this.context = context;
        this.clock = clock;
    }

    /** Replaces what is known beyond the stream (QMP connected late); only before the RAM setup is read. */
    public void context(Context c) {
        this.context = c;
    }

    /** The manifest, once the RAM setup was read; else null. */
    public QemuManifest manifest() {
        return manifest;
    }

    /** Whether the journal was opened (the block list was read). */
    public boolean opened() {
        return out != null;
    }

    /** Page records journaled. */
    public long records() {
        return records;
    }

    /** Passes as the stream shows them (see the class comment); the stop-and-copy counts as one. */
    public int passes() {
        return pass;
    }

    @Override
    public void onHeader(long at, int version, String machine) {
        this.machineType = machine;
    }

    @Override
    public void onSectionStart(long at, SectionKind kind, int sectionId, String name) {
        long t = clock.getAsLong();
        if (kind == SectionKind.START) {
            startNs = t;
            return;
        }
        EventSink o = out;
        o.publish(EventType.STEP, t, steps++, 0, 0);
        if (kind == SectionKind.END) {
            endPass(o, t);
            o.publish(EventType.GUEST_RUN_STATE, t, 1, 0, 0);
            pauseNs = t;
            inEnd = true;
            pass++;
            o.publish(EventType.PHASE, t, Phase.STOP_AND_COPY.ordinal(), pass, 0);
        }
    }

    @Override
    public void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {
        if (totalBytes > QemuManifest.MAX_JOURNAL_BYTES) {
            throw new TooLargeException("QEMU stream, byte " + at + ": a guest of " + totalBytes + " bytes of RAM is "
                    + "larger than Ballast journals (at most " + QemuManifest.MAX_JOURNAL_BYTES + ")");
        }
        Context c = context;
        manifest = new QemuManifest(
                c.qemuVersion(),
                machineType,
                totalBytes,
                blocks,
                c.capabilities(),
                c.source(),
                c.downtimeLimitNs(),
                c.bandwidthBytesPerSec());
        nameBytes = new int[blocks.size()];
        for (RamBlock b : blocks) nameBytes[b.index()] = b.name().length();
        EventSink o = opener.open(manifest);
        o.publish(EventType.STEP, startNs, steps++, 0, 0);
        o.publish(EventType.PHASE, startNs, Phase.SETUP.ordinal(), 0, 0);
        out = o;
    }

    @Override
    public void onSectionEnd(long at, long end, SectionKind kind, int sectionId) {
        if (kind == SectionKind.START) {
            pass = 1;
            out.publish(EventType.PHASE, clock.getAsLong(), Phase.BULK.ordinal(), 1, 0);
        }
    }

    @Override
    public void onBlock(long at, RamBlock block) {
        named = true;
    }

    @Override
    public void onZero(long at, RamBlock block, long offset) {
        record(block.index(), offset, true);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
        record(block.index(), offset, false);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, java.nio.ByteBuffer data, int dataOff) {
        record(block.index(), offset, false); // the page's bytes are not journaled: no copy
    }

    private void record(int block, long offset, boolean zero) {
        long t = clock.getAsLong();
        EventSink o = out;
        long page = offset >>> 12;
        long key = (long) block << 52 | page;
        if (!inEnd && key <= lastKey) {
            endPass(o, t);
            pass++;
            o.publish(EventType.PHASE, t, Phase.ITERATE.ordinal(), pass, 0);
        }
        lastKey = key;
        int bytes = HEADER_BYTES + (named ? 1 + nameBytes[block] : 0) + (zero ? 1 : QemuStreamReader.PAGE_SIZE);
        named = false;
        o.publish(EventType.QEMU_PAGE, t, block, page, EventType.QemuPage.c(zero, bytes));
        passPages++;
        passBytes += bytes;
        records++;
    }

    private void endPass(EventSink o, long t) {
        o.publish(EventType.ITERATION_END, t, pass, passPages, passBytes);
        passPages = 0;
        passBytes = 0;
    }

    @Override
    public void onRamEnd(long end) {
        endPass(out, clock.getAsLong());
    }

    /** The source's stream ended after RAM's END: the migration completed, {@code streamBytes} in all. */
    public void completed(long streamBytes) {
        synchronized (endLock) {
            if (ended || out == null) return;
            ended = true;
            long t = clock.getAsLong();
            out.publish(EventType.PHASE, t, Phase.COMPLETED.ordinal(), pass, 0);
            out.publish(EventType.END, t, Phase.COMPLETED.ordinal(), streamBytes, pauseNs < 0 ? 0 : t - pauseNs);
        }
    }

    /** The reader refused a record: the journal says where and ends. Nothing if the block list was never read. */
    public void refused(QemuStreamException e) {
        synchronized (endLock) {
            if (ended || out == null) return;
            ended = true;
            long t = clock.getAsLong();
            out.publish(EventType.STREAM_REFUSED, t, e.offset(), e.kind().ordinal(), 0);
            FailureCause cause =
                    e.kind() == QemuStreamException.Kind.TRUNCATED ? FailureCause.PEER_CLOSED : FailureCause.PROTOCOL;
            end(t, cause, e.offset());
        }
    }

    /** The migration failed otherwise (a connection broke, QEMU gave up): {@code validBytes} had been read. */
    public void failed(FailureCause cause, long validBytes) {
        synchronized (endLock) {
            if (ended || out == null) return;
            ended = true;
            end(clock.getAsLong(), cause, validBytes);
        }
    }

    private void end(long t, FailureCause cause, long bytes) {
        out.publish(EventType.LINK_FAILED, t, cause.ordinal(), 0, 0);
        out.publish(EventType.PHASE, t, Phase.FAILED.ordinal(), pass, 0);
        out.publish(EventType.END, t, Phase.FAILED.ordinal(), bytes, pauseNs < 0 ? 0 : t - pauseNs);
    }

    /**
     * QEMU's own figures from {@code query-migrate} (another thread may call this while the stream is read): a
     * {@code SYNC_BEGIN} for each sync since the last call, then {@code QEMU_STATUS}. Dropped before the journal
     * is open and after it ended.
     */
    public void status(long dirtySyncCount, long remainingBytes, long dirtyPagesPerSec) {
        synchronized (endLock) {
            EventSink o = out;
            if (ended || o == null) return;
            long t = clock.getAsLong();
            while (lastSync < dirtySyncCount && dirtySyncCount - lastSync < 1_000_000) {
                o.publish(EventType.SYNC_BEGIN, t, ++lastSync, 0, 0);
            }
            lastSync = Math.max(lastSync, dirtySyncCount);
            o.publish(EventType.QEMU_STATUS, t, dirtySyncCount, remainingBytes, dirtyPagesPerSec);
        }
    }
}
