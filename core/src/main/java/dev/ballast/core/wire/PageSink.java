package dev.ballast.core.wire;

import dev.ballast.core.engine.PageRanges;
import java.nio.ByteBuffer;

/**
 * Where a {@link PageStreamReader} applies the records it has validated. Blocks are the
 * destination's own block indexes: the reader has already mapped the wire's block ids by name.
 * Every call names a range that lies inside its block; nothing of a rejected record arrives here.
 * Calls come from the reader's thread, one at a time.
 */
public interface PageSink {
    /**
     * The handshake arrived and its layout matches this destination's. Report, in local block
     * numbering, the pages this destination does not hold yet: a fresh destination reports
     * every page; one resuming a failed migration of the same session reports what it never
     * received. Throw a {@link WireException} (reason {@code REFUSED}) to refuse the migration.
     */
    void open(Hello hello, PageRanges missing) throws WireException;

    /**
     * Pages with their contents: {@code data} holds {@code count * 4096} bytes between its
     * position and its limit. It is a view on the reader's buffer, valid only during the call.
     */
    void writePages(int block, long offset, int count, ByteBuffer data);

    /** Pages whose every byte equals {@code fillByte} (zero pages are fill 0). */
    void fill(int block, long offset, long count, int fillByte);

    /** Pages that entered the balloon ({@code ballooned}) or left it. */
    void balloon(int block, long offset, long count, boolean ballooned);

    /**
     * A chunk of an opaque state section (version 2: the guest's device and vCPU state, sent at
     * stop-and-copy). The reader has checked that chunks of a section arrive in order, from offset
     * 0 to {@code total}, one section at a time, each section once; what a section holds is the
     * sink's to check. {@code data} is a view on the reader's buffer, valid only during the call.
     * Refuse (before writing anything of it) by throwing a {@link WireException}.
     */
    default void state(int section, long total, long offset, ByteBuffer data) throws WireException {
        throw new WireException(
                WireException.Reason.REFUSED, "this destination takes no state (section " + section + ")");
    }

    /**
     * The stream digest verified every record so far (the stream's COMPLETE matched, before
     * {@link #complete}): what arrived up to here may count as received for a later resume. What
     * arrived after the last such call, in a stream that then fails, must not: its contents may be
     * what a rejected stream altered.
     */
    default void verified() {}

    // ------------------------------------------------------------------ postcopy (version 4)

    /**
     * Postcopy, before the switch-over: these pages, which this destination holds, were written on the
     * source since they were sent. Drop them: the guest faults on them after the switch-over and they
     * come again. A destination without postcopy refuses (the default).
     */
    default void discard(int block, long offset, long count) throws WireException {
        throw new WireException(WireException.Reason.REFUSED, "this destination does not do postcopy");
    }

    /**
     * Postcopy, before the switch-over: the balloon bitmap as the source's engine knows it, for
     * {@code [offset, offset + count)}, a run at a time: these pages are in the balloon
     * ({@code ballooned}) or not. A page in the balloon that this destination lacks it may place as
     * zero itself rather than ask for it.
     */
    default void balloonBitmap(int block, long offset, long count, boolean ballooned) throws WireException {
        throw new WireException(WireException.Reason.REFUSED, "this destination does not do postcopy");
    }

    /**
     * Postcopy: the device state has arrived (STATE records, if any); the guest resumes here, and a
     * page it lacks it asks for with {@link PageStreamReader#requestPages}. From now on the reader
     * refuses pages for a page this destination holds ({@code PLACED_TWICE}).
     */
    default void switchOver() throws WireException {
        throw new WireException(WireException.Reason.REFUSED, "this destination does not do postcopy");
    }

    /**
     * Postcopy, just before {@link #switchOver}: the source's pace as its SWITCH_OVER states it (version 6), for
     * invariant 8's bound: one engine step of the source serves up to {@code requestsPerStep} page requests, and
     * its link takes {@code stepNs} for one step's pages and requests (0: no limit). A recovered stream keeps the
     * pace of its switch-over. Ignored by default.
     */
    default void faultPace(int requestsPerStep, long stepNs) {}

    /**
     * Postcopy recovery: a new connection from the source of the migration whose guest runs here after a
     * link failure ({@code hello.recover()}). Report, in local block numbering, the pages this destination
     * lacks and wants sent (pages it places itself, such as ballooned zero pages, it leaves out); ask again
     * for what its guest still waits for with {@link PageStreamReader#requestPages}. Refuse (the default)
     * when there is no such migration here.
     */
    default void recover(Hello hello, PageRanges lacking) throws WireException {
        throw new WireException(
                WireException.Reason.REFUSED, "no postcopy migration of this session to recover on this destination");
    }

    /**
     * A HELLO flagged RECOVER of a postcopy migration this destination completed already (its COMPLETE_ACK
     * lost on the way back): the verdict it sent then, which the reader sends again as the answer, or null
     * (the default) when no migration of this session and layout completed here. Asked before
     * {@link #recover}.
     */
    default Verdict completedBefore(Hello hello) throws WireException {
        return null;
    }

    /** The source finished a pass over its bitmap. */
    default void iterationEnd(int iteration) {}

    /**
     * The stream is complete and its digest matched: start the guest, let it check itself, and
     * say what it found. The reader sends the answer to the source.
     */
    Verdict complete();
}
