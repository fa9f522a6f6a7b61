package dev.ballast.core.event;

import static dev.ballast.core.event.EventField.BLOCK;
import static dev.ballast.core.event.EventField.COMMAND;
import static dev.ballast.core.event.EventField.OFFSET;
import static dev.ballast.core.event.EventField.PAGES;
import static dev.ballast.core.event.EventField.PFN;
import static dev.ballast.core.event.EventField.of;
import static dev.ballast.core.event.FieldFormat.BALLOON_SOURCE;
import static dev.ballast.core.event.FieldFormat.BOOL;
import static dev.ballast.core.event.FieldFormat.CONTENT_COUNT;
import static dev.ballast.core.event.FieldFormat.DEC;
import static dev.ballast.core.event.FieldFormat.DECISION;
import static dev.ballast.core.event.FieldFormat.FAILURE_CAUSE;
import static dev.ballast.core.event.FieldFormat.FILL_COUNT;
import static dev.ballast.core.event.FieldFormat.HINT_KIND;
import static dev.ballast.core.event.FieldFormat.REJECT_REASON;

import dev.ballast.core.policy.CommandIds;
import java.util.List;

/**
 * The catalogue of everything the engine consumes and decides: one definition per event, which
 * the engine encodes with, and the journal's dissector, the replay, the folds of a run and the
 * report decode with. Every event is a fixed record of a type, the engine time it happened at
 * (nanoseconds) and three 64-bit fields {@code a, b, c}; each type below lists its fields in that
 * order (name, {@linkplain FieldFormat how the value is coded}, meaning), and a field whose value
 * packs more than one number has its encoder and decoders in the nested class named after the
 * type ({@link SendFill}, {@link Content}, {@link HintCommand}, {@link Balloon}). Pages are always
 * named as (block index, offset in block); raw guest requests keep the guest's PFNs because a
 * request that names no RAM must still be recorded as the guest sent it.
 *
 * <p>Types marked <b>input</b> are what the engine consumed, in the order it consumed them: a
 * replay feeds them back. Types marked <b>decision</b> are what the engine did: a replay checks
 * them. Types marked <b>info</b> are neither (the guest's own view, kept for inspection).
 *
 * <p>Ids and field codings are stable: they are written to journals. Never renumber or recode;
 * only append. A new event is a new constant here with its fields (the dissector prints it from
 * them), published where it happens.
 */
public enum EventType {
    /**
     * input: a clock reading; the event's time is the reading. Every engine step begins with one; under the
     * current switch-over rule the sync between passes is timed by one more after it (see {@link #DOWNTIME_ESTIMATE}).
     */
    STEP(1, Kind.INPUT, of("step", DEC, "clock readings before this one, from 0")),
    /** input: the link failed or the peer went away. */
    LINK_FAILED(2, Kind.INPUT, of("cause", FAILURE_CAUSE, "why")),
    /** input: the user cancelled. */
    CANCEL(3, Kind.INPUT),
    /** input: a dirty-log sync began (sync 0 is the setup's: the pages the destination lacks follow as DIRTY). */
    SYNC_BEGIN(4, Kind.INPUT, of("sync", DEC, "sync number in this migration, 0 at setup")),
    /** input: pages reported dirty by the sync (at sync 0: pages the destination lacks). */
    DIRTY(5, Kind.INPUT, BLOCK, OFFSET, PAGES),
    /** input: the dirty-log sync ended. */
    SYNC_END(6, Kind.INPUT, of("sync", DEC, "sync number"), of("dirtyPages", DEC, "pages the sync reported")),
    /** input: a free page hint as the guest sent it. */
    HINT(7, Kind.INPUT, COMMAND, PFN, PAGES),
    /** input: a free page bitmap range as the guest sent it. */
    FREE_BITMAP(8, Kind.INPUT, COMMAND, PFN, PAGES),
    /** input: the guest's free page bitmap for a command is complete. */
    FREE_BITMAP_END(9, Kind.INPUT, COMMAND),
    /**
     * input: pages put in the balloon as the guest sent them, or (source {@link Balloon#AT_SETUP}) as
     * the device reported its balloon when the migration began.
     */
    BALLOON_INFLATE(10, Kind.INPUT, of("source", BALLOON_SOURCE, "how the range came: see Balloon"), PFN, PAGES),
    /** input: pages taken out of the balloon as the guest sent them. */
    BALLOON_DEFLATE(11, Kind.INPUT, of("source", BALLOON_SOURCE, "how the range came: see Balloon"), PFN, PAGES),
    /** input: at setup, the last command id the guest's hint device issued before this migration. */
    COMMAND_BASE(13, Kind.INPUT, of("lastCmd", FieldFormat.COMMAND, "the device's last command id, -1 for none")),
    /** input: the answer to a content question about pages about to be sent. */
    CONTENT(
            12,
            Kind.INPUT,
            BLOCK,
            OFFSET,
            of("pages", CONTENT_COUNT, "n > 0: n pages all zero; -n: n pages all non-zero (see Content)")),
    /** input: postcopy: the destination asks for pages its guest faulted on. */
    PAGE_REQUEST(14, Kind.INPUT, BLOCK, OFFSET, PAGES),

    /** decision: the engine entered a phase. */
    PHASE(
            20,
            Kind.DECISION,
            of("phase", FieldFormat.PHASE, "Phase ordinal"),
            of("iteration", DEC, "pass number, the bulk stage is 1")),
    /** decision: pages sent with their data. */
    SEND_NORMAL(21, Kind.DECISION, BLOCK, OFFSET, PAGES),
    /** decision: pages sent as one short fill record: zero pages, or free pages sent as the poison value. */
    SEND_FILL(22, Kind.DECISION, BLOCK, OFFSET, of("pages", FILL_COUNT, "page count and fill byte: see SendFill")),
    /** decision: pages not sent because they are in the balloon. */
    SKIP_BALLOON(23, Kind.DECISION, BLOCK, OFFSET, PAGES),
    /**
     * decision: pages a hint or free bitmap named free, cleared from the migration bitmap (under
     * page poisoning they are marked to go as a poison fill instead).
     */
    SKIP_FREE(24, Kind.DECISION, BLOCK, OFFSET, PAGES),
    /** decision: a command sent to the guest's hint device. */
    HINT_COMMAND(
            25,
            Kind.DECISION,
            of("cmd", FieldFormat.COMMAND, "command id (0 stop, 1 done, else a request)"),
            of("kind", HINT_KIND, "hint or free bitmap: see HintCommand")),
    /** decision: a guest request rejected. */
    REJECT(26, Kind.DECISION, of("reason", REJECT_REASON, "why"), PFN, PAGES),
    /** decision: convergence was checked after a sync; anything but CONTINUE pauses the guest at the next step. */
    CONVERGENCE(
            27,
            Kind.DECISION,
            of("remainingBytes", DEC, "bytes still to send"),
            of("bandwidthBytesPerS", DEC, "bandwidth of the last pass"),
            of("decision", DECISION, "Convergence.Decision ordinal")),
    /** decision: the balloon skip was switched on or off. */
    BALLOON_SKIP(28, Kind.DECISION, of("on", BOOL, "1 on, 0 off")),
    /** decision: an iteration (pass over the bitmap) ended. */
    ITERATION_END(
            29,
            Kind.DECISION,
            of("iteration", DEC, "pass number"),
            of("pages", DEC, "pages sent in it"),
            of("bytes", DEC, "bytes sent in it")),
    /** decision: the guest was paused (stop-and-copy) or resumed on the source (a migration that did not complete). */
    GUEST_RUN_STATE(30, Kind.DECISION, of("paused", BOOL, "1 paused, 0 resumed")),
    /**
     * decision: the downtime expected if the guest stopped now, checked after a sync just before the
     * {@link #CONVERGENCE} it decides: the final sync (as long as this one took) plus the bytes left at the
     * bandwidth of the last pass. Journals written before the final sync was counted do not have it.
     */
    DOWNTIME_ESTIMATE(
            32,
            Kind.DECISION,
            of("expectedNs", DEC, "expected downtime, -1 while the bandwidth is unknown"),
            of("syncNs", DEC, "this sync's time, counted for the final one"),
            of("limitNs", DEC, "the downtime limit")),
    /** decision: the migration ended. */
    END(
            31,
            Kind.DECISION,
            of("phase", FieldFormat.PHASE, "final Phase ordinal"),
            of("transferredBytes", DEC, "bytes on the wire"),
            of(
                    "downtimeNs",
                    DEC,
                    "from the pause to the end (postcopy: to the guest's resumption on the destination), 0 if never paused")),
    /** decision: pre-copy ends in postcopy: the guest is paused at the next step and resumes on the destination. */
    POSTCOPY_START(33, Kind.DECISION, of("pass", DEC, "the pass after whose sync the switch was decided")),
    /** decision: at the switch-over, pages the destination holds that were written since they were sent (stale there). */
    DISCARD(34, Kind.DECISION, BLOCK, OFFSET, PAGES),
    /** decision: the switch-over is done: the device state went out and the guest runs on the destination. */
    SWITCH_OVER(
            35,
            Kind.DECISION,
            of("discardedPages", DEC, "pages the destination was told are stale"),
            of("downtimeNs", DEC, "from the pause to the guest's resumption on the destination")),
    /** decision: the policy sent the balloon bitmap at the switch-over (the destination places those pages as zero itself). */
    BALLOON_BITMAP(36, Kind.DECISION, of("pages", DEC, "pages in the balloon"), of("bytes", DEC, "bytes on the wire")),
    /** decision: requested pages not sent because the source holds them as sent (or skipped on purpose). */
    REQUEST_UNSERVED(37, Kind.DECISION, BLOCK, OFFSET, PAGES),
    /** decision: postcopy recovery after a link failure: the destination's missing pages follow as DIRTY. */
    POSTCOPY_RECOVER(38, Kind.DECISION, of("recovery", DEC, "recoveries so far in this migration, from 1")),
    /**
     * decision: pages the destination has nothing of but the balloon's zero — sent as a zero record unread
     * ({@code balloon-zero}), or skipped by balloon skip in a migration that may switch to postcopy — were just
     * deflated: they go (again), as if written. The guest may have written them before the engine heard of the
     * deflate; a postcopy destination faults on a page it was never sent. They go in the next pass (a stop-and-copy
     * pass goes back for them).
     */
    DEFLATE_TO_SEND(39, Kind.DECISION, BLOCK, OFFSET, PAGES),

    /** info: the guest wrote a page (sim only, sampled on request). */
    GUEST_WRITE(40, Kind.INFO, BLOCK, OFFSET, of("version", DEC, "the page's version after the write")),
    /** info: a check after the run. */
    VERIFY(
            41,
            Kind.INFO,
            of("checkedPages", DEC, "pages checked"),
            of("mismatchedPages", DEC, "pages that differ"),
            of("firstBadPage", DEC, "first bad page index, -1 for none")),
    /** info: postcopy: the guest faulted on a page its destination lacks (sim). */
    FAULT(42, Kind.INFO, BLOCK, OFFSET, of("write", BOOL, "1 a write, 0 a read")),
    /** info: postcopy: a faulted page was placed and the guest went on (sim). */
    FAULT_SERVED(43, Kind.INFO, BLOCK, OFFSET, of("latencyNs", DEC, "from the fault to the placement")),
    /** info: postcopy: the destination placed a page its guest faulted on as zero itself (the balloon bitmap said it is ballooned). */
    FAULT_ZERO(44, Kind.INFO, BLOCK, OFFSET),
    /**
     * info: free page reporting (sim): the guest isolated these free pages and sent them to the host in a report
     * (one event for each run of adjacent blocks of a report); it cannot use them until the host answers.
     */
    REPORT(45, Kind.INFO, BLOCK, OFFSET, PAGES),
    /** info: free page reporting (sim): the host answered the report; the guest put these pages back on its free lists. */
    REPORT_DONE(46, Kind.INFO, BLOCK, OFFSET, PAGES),
    /**
     * info: the host released guest memory ({@code madvise(MADV_DONTNEED)}; sim): the pages read as zero afterwards.
     * Why: see {@link HostDiscard}.
     */
    HOST_DISCARD(
            47,
            Kind.INFO,
            BLOCK,
            OFFSET,
            of("pages", FieldFormat.DISCARD_COUNT, "page count and why (a report, a hint): see HostDiscard")),
    /** info: the hint driver's shrinker gave these held pages back to the guest's allocator under memory pressure (sim). */
    SHRINK(48, Kind.INFO, BLOCK, OFFSET, PAGES),
    /**
     * info: an allocation of the guest failed after its shrinker and DEFLATE_ON_OOM gave what they could; the
     * application waits until it is served ({@link #ALLOC_RESUMED}), retrying at each of the guest's ticks (sim).
     */
    ALLOC_STALL(
            49,
            Kind.INFO,
            of("order", DEC, "the allocation's order (2^order pages)"),
            of("stalls", DEC, "stalls so far in the guest's life"),
            of("freePages", DEC, "pages free in the guest's allocator")),

    /**
     * decision (QEMU's, as its migration stream shows it): one page record of a real QEMU's stream, the page named
     * as (block index in the stream's block list, page offset in the block); see {@link QemuPage}.
     */
    QEMU_PAGE(
            50,
            Kind.DECISION,
            BLOCK,
            OFFSET,
            of("record", FieldFormat.QEMU_RECORD, "zero or data, and the record's bytes on the wire: see QemuPage")),

    /** info: a real QEMU source's own account of its migration, from QMP's {@code query-migrate}, as polled. */
    QEMU_STATUS(
            51,
            Kind.INFO,
            of("syncs", DEC, "dirty-log syncs so far (ram.dirty-sync-count)"),
            of("remainingBytes", DEC, "bytes QEMU still has to send (ram.remaining)"),
            of("dirtyPagesPerS", DEC, "the guest's dirty rate, pages per second (ram.dirty-pages-rate)")),

    /** info: a real QEMU's stream was refused at this record: nothing from it on was forwarded or journaled. */
    STREAM_REFUSED(
            52,
            Kind.INFO,
            of("offset", DEC, "byte offset of the refused record in the stream"),
            of("kind", DEC, "0 malformed, 1 unsupported (a record or capability not read), 2 truncated")),

    /**
     * info: the source's resident memory (sim): pages backed by host memory, published when it changed, at most
     * every 100 ms of the guest's time.
     */
    RESIDENT(
            53,
            Kind.INFO,
            of("pages", DEC, "pages backed by host memory"),
            of("discardedPages", DEC, "pages the host released so far by discards (reports, hints)"),
            of("totalPages", DEC, "the guest's pages")),

    /**
     * info: the host's own free page hint run outside a migration ended (sim, {@code hint-run=1}; Firecracker's
     * {@code hinting/start} before a snapshot): from its command to the done it sent once the guest had stopped.
     */
    HOST_HINT_RUN(
            54,
            Kind.INFO,
            of("durationNs", DEC, "from the host's command id to its done"),
            of("discardedPages", DEC, "pages of host memory the run's discards released"),
            of("stalls", DEC, "the guest's allocation stalls while it ran")),

    /**
     * input: the source's host discarded these pages ({@code madvise(MADV_DONTNEED)}: a free page report's blocks, or
     * a hinted range) while the migration's dirty log ran: they read zero from then until the guest writes them again,
     * and that write is logged. The host tags it with the dirty-log syncs it had finished when the discard was done,
     * so a policy can tell a discard from before the latest sync (whose later writes that sync may have reported
     * already) from a fresh one. PFNs as {@link #HINT}'s.
     */
    HOST_ZEROED(
            58,
            Kind.INPUT,
            of("syncs", DEC, "dirty-log syncs of this migration the host had finished when it discarded"),
            PFN,
            PAGES),
    /**
     * decision: pages still to be sent that the host discarded after the latest sync ({@link #HOST_ZEROED}) are not
     * sent in this pass: free and zero now, and a write to them since is in the dirty log ({@code report} policy).
     */
    SKIP_ZEROED(59, Kind.DECISION, BLOCK, OFFSET, PAGES),

    /**
     * info: an allocation of the guest that had stalled ({@link #ALLOC_STALL}) got its memory after waiting this long,
     * by the guest's own clock (KVM guest, {@code pressure}).
     */
    ALLOC_WAITED(
            60,
            Kind.INFO,
            of("order", DEC, "the allocation's order (2^order pages)"),
            of("waitNs", DEC, "from its first failure to the allocation"),
            of("stalls", DEC, "stalls so far in the guest's life")),

    /**
     * info: an allocation of the guest that had stalled ({@link #ALLOC_STALL}) was served: the memory it waited for was
     * reclaimed (the hint driver's shrinker gave held blocks back once the host had taken their reports, the host
     * said done) or freed (sim).
     */
    ALLOC_RESUMED(
            61,
            Kind.INFO,
            of("order", DEC, "the allocation's order (2^order pages)"),
            of("waitNs", DEC, "how long it waited, from its stall"),
            of("reclaimedPages", DEC, "pages the shrinker gave back to serve it"));

    /** What an event is to a replay. */
    public enum Kind {
        INPUT,
        DECISION,
        INFO
    }

    private static final EventType[] BY_ID = new EventType[64];

    static {
        for (EventType t : values()) {
            if (BY_ID[t.id] != null) throw new ExceptionInInitializerError("duplicate event id " + t.id);
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final Kind kind;
    private final List<EventField> fields;

    EventType(int id, Kind kind, EventField... fields) {
        this.id = id;
        this.kind = kind;
        this.fields = List.of(fields);
    }

    /** The stable id written to journals. */
    public int id() {
        return id;
    }

    public Kind kind() {
        return kind;
    }

    /** The fields this type uses, in order a, b, c; fields it does not use are absent (and written as 0). */
    public List<EventField> fields() {
        return fields;
    }

    /**
     * Whether the guest's devices send events of this type: what {@code SourceGuest.drainRequests}
     * hands the engine, PFNs as the guest sent them. A {@link #REJECT} is one too when the device
     * could not parse a message (reason {@link RejectReason#MALFORMED}); otherwise it is the
     * engine's answer to the request just before it.
     */
    public boolean guestRequest() {
        return switch (this) {
            case HINT, FREE_BITMAP, FREE_BITMAP_END, BALLOON_INFLATE, BALLOON_DEFLATE, REJECT -> true;
            default -> false;
        };
    }

    /**
     * Whether {@code SourceGuest.drainRequests} hands the engine events of this type: the guest's requests
     * ({@link #guestRequest()}) and the host's notices of its discards ({@link #HOST_ZEROED}).
     */
    public boolean drained() {
        return guestRequest() || this == HOST_ZEROED;
    }

    /** The type with this id, or null if no type has it. */
    public static EventType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    /** Appends {@code TYPE name=value ...}: the fields as {@link #fields()} name and format them. */
    public StringBuilder appendTo(long a, long b, long c, StringBuilder out) {
        out.append(name());
        for (int i = 0; i < fields.size(); i++) {
            EventField f = fields.get(i);
            out.append(' ').append(f.name()).append('=');
            f.format().append(i == 0 ? a : i == 1 ? b : c, out);
        }
        return out;
    }

    // ------------------------------------------------------------------ coded fields

    /** {@link #SEND_FILL}'s {@code c}: the page count in the low 48 bits, the fill byte in bits 48..55. */
    public static final class SendFill {
        private static final int SHIFT = 48;
        private static final long COUNT_MASK = (1L << SHIFT) - 1;

        private SendFill() {}

        /** The {@code c} of a fill record of {@code pages} pages of {@code fillByte} (0: zero pages). */
        public static long c(long pages, int fillByte) {
            return (pages & COUNT_MASK) | ((long) (fillByte & 0xFF) << SHIFT);
        }

        public static long pages(long c) {
            return c & COUNT_MASK;
        }

        public static int fillByte(long c) {
            return (int) ((c >>> SHIFT) & 0xFF);
        }

        /** Zero pages (as opposed to free pages sent as the poison value). */
        public static boolean zero(long c) {
            return fillByte(c) == 0;
        }
    }

    /**
     * {@link #QEMU_PAGE}'s {@code c}: the record's bytes on the wire (its 8-byte header, the block name when it has
     * no CONTINUE flag, then 1 byte for a ZERO record or 4096 for a PAGE) in the low 32 bits; bit 32 set for ZERO.
     */
    public static final class QemuPage {
        private static final long ZERO_BIT = 1L << 32;

        private QemuPage() {}

        public static long c(boolean zero, int recordBytes) {
            return (recordBytes & 0xFFFF_FFFFL) | (zero ? ZERO_BIT : 0);
        }

        public static boolean zero(long c) {
            return (c & ZERO_BIT) != 0;
        }

        public static int recordBytes(long c) {
            return (int) (c & 0xFFFF_FFFFL);
        }
    }

    /** {@link #HOST_DISCARD}'s {@code c}: the page count in the low 48 bits, why in bits 48..55. */
    public static final class HostDiscard {
        private static final int SHIFT = 48;
        private static final long COUNT_MASK = (1L << SHIFT) - 1;
        /** Free page reporting: the host discards the blocks of a report before it answers. */
        public static final int REPORT = 0;
        /** A free page hint: the host discards a range it reads for the live command id (Firecracker's device). */
        public static final int HINT = 1;

        private HostDiscard() {}

        public static long c(long pages, int why) {
            return (pages & COUNT_MASK) | ((long) (why & 0xFF) << SHIFT);
        }

        public static long pages(long c) {
            return c & COUNT_MASK;
        }

        public static int why(long c) {
            return (int) ((c >>> SHIFT) & 0xFF);
        }

        /** {@code report} or {@code hint}. */
        public static String whyName(int why) {
            return why == REPORT ? "report" : why == HINT ? "hint" : "#" + why;
        }
    }

    /** {@link #CONTENT}'s {@code c}: {@code n > 0} for n pages that are all zero, {@code -n} for n all non-zero. */
    public static final class Content {
        private Content() {}

        public static long c(long pages, boolean zero) {
            return zero ? pages : -pages;
        }

        public static long pages(long c) {
            return Math.abs(c);
        }

        public static boolean zero(long c) {
            return c > 0;
        }
    }

    /** {@link #HINT_COMMAND}'s {@code b}: which device protocol the command belongs to. */
    public static final class HintCommand {
        /** A free page hint command: stop, done, or a new request. */
        public static final long HINT = 0;
        /** A request for the whole free page bitmap. */
        public static final long FREE_BITMAP = 1;

        private HintCommand() {}

        /**
         * Whether a {@code HINT_COMMAND} starts a request to the guest (what {@code hints.requests}
         * counts): every free bitmap request, and hint commands whose id is a request id (not stop
         * or done).
         */
        public static boolean startsRequest(long a, long b) {
            return b == FREE_BITMAP || CommandIds.isRequest(a);
        }
    }

    /** {@link #BALLOON_INFLATE}'s and {@link #BALLOON_DEFLATE}'s {@code a}: how the range reached the host. */
    public static final class Balloon {
        /** The guest sent a PFN array. */
        public static final long PFNS = 0;
        /** The guest sent a bitmap. */
        public static final long BITMAP = 1;
        /**
         * Not a guest message: the device's balloon when the migration began, reported at setup
         * (inflate only). Replay answers the engine's {@code balloonState} with these.
         */
        public static final long AT_SETUP = 2;

        private Balloon() {}

        /** The guest's message encoding as this field codes it. */
        public static long of(boolean bitmap) {
            return bitmap ? BITMAP : PFNS;
        }

        public static boolean atSetup(long a) {
            return a == AT_SETUP;
        }
    }
}
