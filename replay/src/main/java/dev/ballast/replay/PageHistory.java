package dev.ballast.replay;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RejectReason;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.RunManifest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One page's whole story in a run, from its events alone: when it was dirtied, hinted,
 * ballooned, sent or skipped, and why — what a reviewer reads to answer "why was this page sent
 * twice?" or "why was it lost?".
 */
public final class PageHistory {
    private final RamLayout layout;
    private final long pfn;
    private final int block;
    private final long offset;
    private final List<String> lines = new ArrayList<>();
    /** A real QEMU's journal ({@code ballast tap}): sends are QEMU's, and its dirty log is not in the journal. */
    private final boolean qemu;

    private long timeNs;
    private int migration;
    private int pass;
    private long sync;
    private long lastHintCommand = -1;
    private boolean pending;
    private boolean sentThisMigration;
    private boolean dirtySinceSend;
    private boolean ballooned;
    private boolean hinted;
    private long sends;

    private PageHistory(RamLayout layout, long pfn, boolean qemu) {
        this.layout = layout;
        this.qemu = qemu;
        this.pfn = pfn;
        long index = layout.indexOfPfn(pfn);
        if (index < 0)
            throw new IllegalArgumentException(
                    "PFN 0x" + Long.toHexString(pfn) + " is not RAM in this guest (" + layout + ")");
        RamBlock b = layout.blockOfIndex(index);
        this.block = b.index();
        this.offset = index - b.firstIndex();
    }

    /** Reads the whole stream and tells the page's story. */
    public static List<String> of(RunManifest m, EventStream stream, long pfn) {
        PageHistory h = new PageHistory(m.layout(), pfn, "qemu".equals(m.backend()));
        h.lines.add("PFN 0x" + Long.toHexString(pfn) + " is "
                + m.layout().describeIndex(m.layout().indexOfPfn(pfn)));
        Event e = new Event();
        while (stream.next(e)) h.apply(e);
        // a destination's journal (ballast dest --journal) has no migration of the engine's, only its guest's faults
        if (h.migration == 0 && h.lines.size() == 1) h.lines.add("no migration in this journal");
        return h.lines;
    }

    private boolean covers(long a, long b, long c) {
        return a == block && offset >= b && offset < b + c;
    }

    private boolean coversPfn(long first, long pages) {
        return pages > 0 && pfn >= first && pfn - first < pages;
    }

    private void say(Event e, String what) {
        lines.add(String.format(Locale.ROOT, "  #%-9d %12.3f ms  %s", e.number, timeNs / 1e6, what));
    }

    /** An event of the guest's own clock (the simulator's postcopy destination), told at its own time. */
    private void sayAt(Event e, String what) {
        lines.add(String.format(Locale.ROOT, "  #%-9d %12.3f ms  %s", e.number, e.timeNs / 1e6, what));
    }

    private void apply(Event e) {
        long a = e.a, b = e.b, c = e.c;
        switch (e.type) {
            case STEP -> timeNs = e.timeNs;
            case PHASE -> {
                Phase p = Phase.byOrdinal(a);
                pass = (int) b;
                if (p == Phase.SETUP) {
                    migration++;
                    pending = false;
                    sentThisMigration = false;
                    dirtySinceSend = false;
                    hinted = false;
                    lines.add("migration " + migration + ":");
                } else if (p.isTerminal()) {
                    verdict(e, p);
                }
            }
            case SYNC_BEGIN -> sync = a;
            case DIRTY -> {
                if (!covers(a, b, c)) return;
                pending = true;
                hinted = false;
                if (sync == 0) {
                    say(e, "the destination does not have it: to be sent in the bulk stage");
                } else {
                    dirtySinceSend |= sentThisMigration;
                    say(
                            e,
                            "dirty at sync " + sync
                                    + (sentThisMigration ? ": written after it was sent, so it goes again" : ""));
                }
            }
            case CONTENT -> {
                if (covers(a, b, EventType.Content.pages(c)))
                    say(e, "content checked: " + (EventType.Content.zero(c) ? "all zeros" : "not zero"));
            }
            case SEND_NORMAL, SEND_FILL -> {
                long n = e.type == EventType.SEND_FILL ? EventType.SendFill.pages(c) : c;
                if (!covers(a, b, n)) return;
                int fill = e.type == EventType.SEND_FILL ? EventType.SendFill.fillByte(c) : -1;
                String how = e.type == EventType.SEND_NORMAL
                        ? "sent with its data"
                        : fill == 0
                                ? "sent as a zero page"
                                : "sent as a poison page (0x" + Integer.toHexString(fill) + "), being free";
                String again = "";
                if (sentThisMigration)
                    again = dirtySinceSend
                            ? " (again: it was written after it was last sent)"
                            : " (AGAIN WITHOUT A WRITE: a needless resend)";
                say(e, how + " in pass " + pass + again);
                sends++;
                pending = false;
                sentThisMigration = true;
                dirtySinceSend = false;
            }
            case QEMU_PAGE -> {
                if (!covers(a, b, 1)) return;
                timeNs = e.timeNs; // a QEMU record carries the time it was read
                String again = sentThisMigration
                        ? " (again: QEMU found it dirty after it last sent it; the stream does not show the write)"
                        : "";
                say(
                        e,
                        (EventType.QemuPage.zero(c) ? "QEMU sent it as a zero page" : "QEMU sent it with its data")
                                + " (" + EventType.QemuPage.recordBytes(c) + " bytes) in pass " + pass + again);
                sends++;
                pending = false;
                sentThisMigration = true;
                dirtySinceSend = false;
            }
            case SKIP_BALLOON -> {
                if (!covers(a, b, c)) return;
                say(e, "skipped: it is in the balloon");
                pending = false;
            }
            case SKIP_FREE -> {
                if (!covers(a, b, c)) return;
                say(
                        e,
                        "cleared from the bitmap: the guest hinted it free (command 0x"
                                + Long.toHexString(lastHintCommand) + ")");
                pending = false;
                hinted = true;
            }
            case SKIP_ZEROED -> {
                if (!covers(a, b, c)) return;
                say(e, "cleared from the bitmap: the host discarded it after the latest sync (it reads zero)");
                pending = false;
            }
            case HOST_ZEROED -> {
                if (coversPfn(b, c))
                    say(e, "the host told the migration it discarded it, after " + a + " dirty-log syncs");
            }
            case HINT, FREE_BITMAP -> {
                lastHintCommand = a;
                if (coversPfn(b, c)) {
                    say(
                            e,
                            (e.type == EventType.HINT ? "the guest hinted it free" : "the guest's free bitmap lists it")
                                    + ", answering command 0x" + Long.toHexString(a));
                }
            }
            case BALLOON_INFLATE -> {
                if (!coversPfn(b, c)) return;
                ballooned = true;
                say(
                        e,
                        EventType.Balloon.atSetup(a)
                                ? "in the balloon when the migration started"
                                : "put in the balloon (inflate)");
            }
            case BALLOON_DEFLATE -> {
                if (!coversPfn(b, c)) return;
                ballooned = false;
                say(e, "taken out of the balloon (deflate)");
            }
            case DEFLATE_TO_SEND -> {
                if (!covers(a, b, c)) return;
                say(
                        e,
                        "to be sent again: it went as a zero page while the balloon held it, and the guest may have "
                                + "written it since its deflate (which counts as a write)");
                pending = true;
                dirtySinceSend |= sentThisMigration;
            }
            case REJECT -> {
                if (coversPfn(b, c)) say(e, "a guest request naming it was rejected: " + RejectReason.byCode(a));
            }
            case LINK_FAILED -> say(e, "the link failed here");
            case GUEST_RUN_STATE -> {
                if (a == 1) say(e, "the guest is paused: stop-and-copy (or postcopy's switch-over)");
            }
            case POSTCOPY_START -> say(e, "pre-copy ends after pass " + a + ": postcopy");
            case DISCARD -> {
                if (covers(a, b, c))
                    say(e, "discarded at the switch-over: stale on the destination (written since it was sent)");
            }
            case SWITCH_OVER ->
                say(
                        e,
                        "switch-over: the guest resumes on the destination"
                                + (pending
                                        ? "; the page is not there yet (sent in the background, or when the guest faults on it)"
                                        : ""));
            case PAGE_REQUEST -> {
                if (covers(a, b, c)) say(e, "the destination asked for it (its guest faulted on it)");
            }
            case REQUEST_UNSERVED -> {
                if (covers(a, b, c))
                    say(e, "asked for but NOT SENT: the source holds it as sent or skipped, so the guest waits for it");
            }
            case POSTCOPY_RECOVER -> say(e, "postcopy recovery " + a + ": the destination says which pages it lacks");
            case FAULT -> {
                if (covers(a, b, 1)) sayAt(e, "the guest faulted on it on the destination");
            }
            case FAULT_SERVED -> {
                if (covers(a, b, 1))
                    sayAt(
                            e,
                            String.format(Locale.ROOT, "placed on the destination; the fault waited %.3f ms", c / 1e6));
            }
            case FAULT_ZERO -> {
                if (covers(a, b, 1)) sayAt(e, "placed as zero by the destination itself (in the balloon bitmap)");
            }
            case REPORT -> {
                if (covers(a, b, c))
                    sayAt(e, "free page reporting: the guest reported it free (isolated until the host answers)");
            }
            case REPORT_DONE -> {
                if (covers(a, b, c))
                    sayAt(e, "free page reporting: the host answered; the page is free again, marked reported");
            }
            case HOST_DISCARD -> {
                if (covers(a, b, EventType.HostDiscard.pages(c)))
                    sayAt(
                            e,
                            "the host discarded it (madvise DONTNEED, it reads zero now): "
                                    + (EventType.HostDiscard.why(c) == EventType.HostDiscard.REPORT
                                            ? "a free page report"
                                            : "a free page hint"));
            }
            case SHRINK -> {
                if (covers(a, b, c))
                    sayAt(e, "the hint driver's shrinker gave it back to the guest's allocator (memory pressure)");
            }
            default -> {}
        }
    }

    private void verdict(Event e, Phase outcome) {
        String what;
        if (outcome != Phase.COMPLETED) {
            what = "migration " + outcome.name().toLowerCase(Locale.ROOT)
                    + (pending ? ": still to be sent, given back to the dirty log" : "");
        } else if (pending) {
            what = "completed with the page STILL DIRTY AND UNSENT: if the guest uses it, its last write is lost";
        } else if (!sentThisMigration && qemu) {
            what =
                    "completed without QEMU sending it: its dirty bit was cleared unsent (as a free page hint does), so the "
                            + "destination's page is as it started";
        } else if (!sentThisMigration) {
            what = "completed without sending it"
                    + (ballooned
                            ? " (in the balloon)"
                            : hinted ? " (free, as the guest said)" : " (the destination had it already)");
        } else {
            what = "completed; the destination has what was sent last";
        }
        say(e, what);
    }
}
