package dev.ballast.replay;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunManifest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The state of a run as its events tell it, without the engine: the phase, the pass, the pages
 * still to send and the counters. Fed event by event; {@link #snapshot()} and {@link #restore}
 * make the checkpoints that let a reader jump to any event without reading from the start.
 */
public final class RunState {
    private final RamLayout layout;
    private final long[] blockFirst;
    private final int poisonByte;
    private final long pageBytes;
    private final int headerBytes;

    private PageBitmap toSend;
    private long eventNumber = -1;
    private long timeNs;
    private int migration;
    private Phase phase = Phase.SETUP;
    private int iteration;
    private long syncs;
    private long pagesNormal;
    private long pagesZero;
    private long skippedBalloon;
    private long skippedFree;
    private long transferredBytes;
    private long hintRequests;
    private long hintRanges;
    private long hintPages;
    private long rejected;
    private long failures;
    private long lastRemainingBytes;
    private long lastBandwidth;

    public RunState(RunManifest m) {
        this.layout = m.layout();
        this.blockFirst = layout.blocks().stream().mapToLong(RamBlock::firstIndex).toArray();
        this.poisonByte = m.features().poisonByte();
        this.headerBytes = m.engine().pageHeaderBytes();
        this.pageBytes = RamLayout.PAGE_SIZE + (long) headerBytes;
        this.toSend = new PageBitmap(layout.totalPages());
    }

    /** Applies one event (its number must follow the last one applied). */
    public void apply(long number, EventType type, long time, long a, long b, long c) {
        eventNumber = number;
        if (type == EventType.STEP) {
            timeNs = time;
            return;
        }
        switch (type) {
            case PHASE -> {
                Phase p = Phase.byOrdinal(a);
                if (p == Phase.SETUP) newMigration();
                phase = p;
                iteration = (int) b;
            }
            case SYNC_BEGIN -> { if (a > 0) syncs++; }
            case DIRTY -> toSend.setRange(index(a, b), index(a, b) + c);
            case SEND_NORMAL -> {
                toSend.clearRange(index(a, b), index(a, b) + c);
                pagesNormal += c;
                transferredBytes += c * pageBytes;
            }
            case SEND_FILL -> {
                long n = EventType.SendFill.pages(c);
                toSend.clearRange(index(a, b), index(a, b) + n);
                if (EventType.SendFill.zero(c)) pagesZero += n;
                else skippedFree += n;
                transferredBytes += headerBytes + 8L;
            }
            case SKIP_BALLOON -> {
                toSend.clearRange(index(a, b), index(a, b) + c);
                skippedBalloon += c;
            }
            case SKIP_FREE -> {
                if (poisonByte == 0) skippedFree += toSend.clearRangeCounting(index(a, b), index(a, b) + c);
            }
            case HINT_COMMAND -> { if (EventType.HintCommand.startsRequest(a, b)) hintRequests++; }
            case HINT, FREE_BITMAP -> {
                hintRanges++;
                if (c > 0) hintPages += c;
            }
            case REJECT -> rejected++;
            case LINK_FAILED -> failures++;
            case CONVERGENCE -> {
                lastRemainingBytes = a;
                lastBandwidth = b;
            }
            default -> { }
        }
    }

    public void apply(Event e) {
        apply(e.number, e.type, e.timeNs, e.a, e.b, e.c);
    }

    private void newMigration() {
        migration++;
        toSend.clearAll();
        iteration = 0;
        syncs = 0;
    }

    private long index(long block, long offset) {
        return blockFirst[(int) block] + offset;
    }

    public long eventNumber() { return eventNumber; }
    public long timeNs() { return timeNs; }
    public int migration() { return migration; }
    public Phase phase() { return phase; }
    public int iteration() { return iteration; }
    public long syncs() { return syncs; }
    public long pagesLeft() { return toSend.count(); }
    public boolean pending(long pageIndex) { return toSend.get(pageIndex); }

    /** One line per fact, for {@code ballast inspect --at}. */
    public String describe() {
        return String.format(java.util.Locale.ROOT, """
                event         %d
                time          %.3f ms
                migration     %d
                phase         %s, pass %d, %d dirty-log syncs
                pages left    %d
                sent          %d with data, %d zero, %d bytes
                skipped       %d in the balloon, %d free (hints)
                hints         %d requests, %d ranges, %d pages
                rejected      %d guest requests
                link failures %d
                last check    %d bytes left at %d B/s
                """, eventNumber, timeNs / 1e6, migration, phase, iteration, syncs, pagesLeft(), pagesNormal, pagesZero,
                transferredBytes, skippedBalloon, skippedFree, hintRequests, hintRanges, hintPages, rejected, failures,
                lastRemainingBytes, lastBandwidth);
    }

    // ------------------------------------------------------------------ checkpoints

    private static final int SNAPSHOT_VERSION = 2;

    /**
     * The state as bytes: the counters, then the pages still to send as runs, each a varint gap
     * from the end of the previous run and a varint length (a few bytes a run, however large the
     * guest).
     */
    public byte[] snapshot() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(SNAPSHOT_VERSION);
            for (long v : new long[] {eventNumber, timeNs, migration, phase.ordinal(), iteration, syncs, pagesNormal, pagesZero,
                    skippedBalloon, skippedFree, transferredBytes, hintRequests, hintRanges, hintPages, rejected, failures,
                    lastRemainingBytes, lastBandwidth}) {
                out.writeLong(v);
            }
            long[] prevEnd = {0};
            toSend.forEachRun((s, e) -> {
                varint(bytes, s - prevEnd[0]);
                varint(bytes, e - s);
                prevEnd[0] = e;
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static long varint(DataInputStream in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.readUnsignedByte();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new IOException("varint too long");
    }

    /** A state from a checkpoint; a payload this version cannot read is an error. */
    public static RunState restore(RunManifest m, byte[] payload) {
        RunState s = new RunState(m);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(payload))) {
            int v = in.readInt();
            if (v != SNAPSHOT_VERSION) throw new IllegalArgumentException("checkpoint of unknown version " + v);
            s.eventNumber = in.readLong();
            s.timeNs = in.readLong();
            s.migration = (int) in.readLong();
            s.phase = Phase.byOrdinal(in.readLong());
            s.iteration = (int) in.readLong();
            s.syncs = in.readLong();
            s.pagesNormal = in.readLong();
            s.pagesZero = in.readLong();
            s.skippedBalloon = in.readLong();
            s.skippedFree = in.readLong();
            s.transferredBytes = in.readLong();
            s.hintRequests = in.readLong();
            s.hintRanges = in.readLong();
            s.hintPages = in.readLong();
            s.rejected = in.readLong();
            s.failures = in.readLong();
            s.lastRemainingBytes = in.readLong();
            s.lastBandwidth = in.readLong();
            long end = 0;
            while (in.available() > 0) {
                long start = end + varint(in);
                end = start + varint(in);
                s.toSend.setRange(start, end);
            }
        } catch (IOException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("damaged checkpoint: " + e.getMessage());
        }
        return s;
    }
}
