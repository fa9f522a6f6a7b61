package dev.ballast.core.policy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.Phase;

/**
 * What a migration may skip, and the safety rules that go with it. The engine calls these hooks
 * from its own thread, in a fixed order:
 *
 * <pre>
 *   onSetup ─▶ (onRequest)* ─▶ beforeSync ─▶ afterSync ─▶ (onRequest)* ─▶ beforeSync ─▶ …
 *        … ─▶ [guest paused] beforeSync ─▶ onStopAndCopy ─▶ final sync ─▶ afterSync (guest not running) ─▶ onEnd
 *   postcopy: … ─▶ [guest paused] beforeSync ─▶ onSwitchOver ─▶ final sync ─▶ afterSync ─▶ [discards, guest on the destination] ─▶ onEnd
 * </pre>
 *
 * A policy changes the migration only through its {@link PolicyContext}. Implement this to try an
 * optimization of your own; every hook has a no-op default.
 */
public interface MigrationPolicy {
    /** The name that {@code --policy} and the journal use. */
    String name();

    /** After the dirty log was started and the bitmap filled for the bulk stage. */
    default void onSetup(PolicyContext ctx) {}

    /** Just before each dirty-log sync (including the final one, with the guest paused). */
    default void beforeSync(PolicyContext ctx) {}

    /** Just after each dirty-log sync; {@code ctx.guestRunning()} is false after the final one. */
    default void afterSync(PolicyContext ctx) {}

    /**
     * The guest is paused for stop-and-copy; the final sync follows, so anything the host writes
     * into guest memory because of what this hook does is still sent. Nothing may write guest
     * memory after the final sync.
     */
    default void onStopAndCopy(PolicyContext ctx) {}

    /**
     * Postcopy: the guest is paused for the switch-over; the final sync follows (as for
     * {@link #onStopAndCopy}), then the discards, then the guest resumes on the destination.
     * What the switch-over must carry for this policy goes out here (for balloon skip, the balloon
     * bitmap: {@link PolicyContext#sendBalloonBitmap}); it counts in the downtime.
     */
    default void onSwitchOver(PolicyContext ctx) {}

    /**
     * Whether pages in the balloon are sent as zero pages without their zero check (the review's
     * variant of balloon skip: the destination still gets a zero-page record for each). Consulted
     * only while {@link #skipBalloon} is false.
     */
    default boolean zeroBalloon(PolicyContext ctx) {
        return false;
    }

    /** The migration ended ({@link Phase#COMPLETED}, {@link Phase#FAILED} or {@link Phase#CANCELLED}). */
    default void onEnd(PolicyContext ctx, Phase outcome) {}

    /** A free page hint from the guest: command id, first PFN, pages, as the guest sent them. */
    default void onHint(PolicyContext ctx, long commandId, long pfn, long pages) {}

    /** A range of the guest's whole free page bitmap, answering {@code commandId}. */
    default void onFreeBitmap(PolicyContext ctx, long commandId, long pfn, long pages) {}

    /** The guest's free page bitmap answering {@code commandId} is complete. */
    default void onFreeBitmapEnd(PolicyContext ctx, long commandId) {}

    /**
     * The source's host discarded these pages (a free page report's, a hinted range) after {@code syncs} dirty-log
     * syncs of this migration: they read zero until the guest writes them again, and such a write is logged. PFNs as
     * the host's device named them.
     */
    default void onZeroed(PolicyContext ctx, long syncs, long pfn, long pages) {}

    /** Whether pages in the balloon are neither scanned nor sent right now. */
    default boolean skipBalloon(PolicyContext ctx) {
        return false;
    }

    /**
     * Why this policy, which skips ballooned pages on some guests, skips none on a guest with these
     * features (one line, told to the user before the run and kept in its report); null when it
     * skips them there, or never would.
     */
    default String balloonSkipOff(GuestFeatures features) {
        return null;
    }
}
