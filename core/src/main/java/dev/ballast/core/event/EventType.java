package dev.ballast.core.event;

/**
 * The catalogue of everything the engine consumes and decides. Every event is a fixed record of a
 * type, the engine time it happened at (nanoseconds) and three 64-bit fields {@code a, b, c}
 * whose meaning each type states below. Pages are always named as (block index, offset in block);
 * raw guest requests keep the guest's PFNs because a request that names no RAM must still be
 * recorded as the guest sent it.
 *
 * <p>Types marked <b>input</b> are what the engine consumed, in the order it consumed them: a
 * replay feeds them back. Types marked <b>decision</b> are what the engine did: a replay checks
 * them. Types marked <b>info</b> are neither (the guest's own view, kept for inspection).
 *
 * <p>Ids are stable: they are written to journals. Never renumber; only append.
 */
public enum EventType {
    /** input: one engine step began; time is the clock reading the step used. a=step number. */
    STEP(1, Kind.INPUT),
    /** input: the link failed or the peer went away. a=failure cause code ({@link FailureCause}). */
    LINK_FAILED(2, Kind.INPUT),
    /** input: the user cancelled. */
    CANCEL(3, Kind.INPUT),
    /** input: a dirty-log sync began. a=sync number. */
    SYNC_BEGIN(4, Kind.INPUT),
    /** input: pages reported dirty by the sync. a=block, b=offset, c=count. */
    DIRTY(5, Kind.INPUT),
    /** input: the dirty-log sync ended. a=sync number, b=dirty pages reported. */
    SYNC_END(6, Kind.INPUT),
    /** input: a free page hint as the guest sent it. a=command id, b=first PFN, c=pages. */
    HINT(7, Kind.INPUT),
    /** input: a free page bitmap range as the guest sent it. a=command id, b=first PFN, c=pages. */
    FREE_BITMAP(8, Kind.INPUT),
    /** input: the guest's free page bitmap for command a is complete. */
    FREE_BITMAP_END(9, Kind.INPUT),
    /** input: balloon inflate as the guest sent it. a=0 for PFN array, 1 for bitmap, b=first PFN, c=pages. */
    BALLOON_INFLATE(10, Kind.INPUT),
    /** input: balloon deflate as the guest sent it. a as for inflate, b=first PFN, c=pages. */
    BALLOON_DEFLATE(11, Kind.INPUT),
    /** input: the last command id the guest's hint device issued before this migration (-1: none), at setup. */
    COMMAND_BASE(13, Kind.INPUT),
    /** input: answer to a content question: a=block, b=offset, c=count of pages that are all zero (c&gt;0) or all non-zero (-c). */
    CONTENT(12, Kind.INPUT),

    /** decision: the engine entered a phase. a=phase ordinal ({@link dev.ballast.core.engine.Phase}), b=iteration. */
    PHASE(20, Kind.DECISION),
    /** decision: pages sent with their data. a=block, b=offset, c=count. */
    SEND_NORMAL(21, Kind.DECISION),
    /** decision: pages sent as a short fill record (zero, or the poison value). a=block, b=offset, c=count | fill byte &lt;&lt; 48. */
    SEND_FILL(22, Kind.DECISION),
    /** decision: pages not sent because they are in the balloon. a=block, b=offset, c=count. */
    SKIP_BALLOON(23, Kind.DECISION),
    /** decision: pages cleared from the migration bitmap by a hint or free bitmap. a=block, b=offset, c=count. */
    SKIP_FREE(24, Kind.DECISION),
    /** decision: a command sent to the guest's hint device. a=command id (0 stop, 1 done), b=0 for hint, 1 for free bitmap. */
    HINT_COMMAND(25, Kind.DECISION),
    /** decision: a guest request rejected. a=reject reason ({@link RejectReason}), b=first PFN, c=pages. */
    REJECT(26, Kind.DECISION),
    /** decision: convergence was checked. a=remaining bytes, b=bandwidth bytes/s, c=1 if stop-and-copy follows. */
    CONVERGENCE(27, Kind.DECISION),
    /** decision: the balloon skip was switched on (a=1) or off (a=0). */
    BALLOON_SKIP(28, Kind.DECISION),
    /** decision: an iteration (pass over the bitmap) ended. a=iteration, b=pages sent in it, c=bytes sent in it. */
    ITERATION_END(29, Kind.DECISION),
    /** decision: the guest was paused (a=1) or resumed on the source (a=0). */
    GUEST_RUN_STATE(30, Kind.DECISION),
    /** decision: the migration ended. a=final phase ordinal, b=transferred bytes, c=downtime ns. */
    END(31, Kind.DECISION),

    /** info: the guest wrote a page (sim only, sampled on request). a=block, b=offset, c=version. */
    GUEST_WRITE(40, Kind.INFO),
    /** info: a check after the run. a=checked pages, b=mismatched pages, c=first bad page index or -1. */
    VERIFY(41, Kind.INFO);

    /** What an event is to a replay. */
    public enum Kind { INPUT, DECISION, INFO }

    private static final EventType[] BY_ID = new EventType[64];
    static {
        for (EventType t : values()) {
            if (BY_ID[t.id] != null) throw new ExceptionInInitializerError("duplicate event id " + t.id);
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final Kind kind;

    EventType(int id, Kind kind) {
        this.id = id;
        this.kind = kind;
    }

    /** The stable id written to journals. */
    public int id() { return id; }

    public Kind kind() { return kind; }

    /** The type with this id, or null if no type has it. */
    public static EventType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
