package dev.ballast.core.event;

import dev.ballast.core.engine.Convergence;
import dev.ballast.core.engine.Phase;
import dev.ballast.core.policy.CommandIds;

/** How an event field's 64-bit value is coded, and so how it is printed. */
public enum FieldFormat {
    /** Signed decimal. */
    DEC,
    /** Hexadecimal with {@code 0x}. */
    HEX,
    /** A {@link Phase} ordinal, printed by name. */
    PHASE,
    /** A {@link Convergence.Decision} ordinal, printed by name. */
    DECISION,
    /** A {@link FailureCause} code. */
    FAILURE_CAUSE,
    /** A {@link RejectReason} code. */
    REJECT_REASON,
    /** A free page hint command id ({@link CommandIds}): {@code stop} (0), {@code done} (1), otherwise hex. */
    COMMAND,
    /** {@link EventType.HintCommand#HINT} or {@link EventType.HintCommand#FREE_BITMAP}: {@code hint} / {@code bitmap}. */
    HINT_KIND,
    /** How a balloon range reached the host ({@link EventType.Balloon}): {@code pfns}, {@code bitmap} or {@code setup}. */
    BALLOON_SOURCE,
    /** {@link EventType.SendFill}: a page count in the low 48 bits and the fill byte above, {@code 64 fill=0x00}. */
    FILL_COUNT,
    /** {@link EventType.Content}: pages that are all zero (c &gt; 0) or all non-zero (-c), {@code 64 zero}. */
    CONTENT_COUNT,
    /** 0 / 1 printed as {@code no} / {@code yes}. */
    BOOL,
    /** {@link EventType.HostDiscard}: a page count in the low 48 bits and why above, {@code 512 report}. */
    DISCARD_COUNT,
    /** {@link EventType.QemuPage}: zero or data and the record's bytes, {@code zero 9B} / {@code data 4104B}. */
    QEMU_RECORD;

    private static final Phase[] PHASES = Phase.values();
    private static final Convergence.Decision[] DECISIONS = Convergence.Decision.values();

    /** Appends the value as this format prints it. Values out of a coded field's range print as numbers. */
    public void append(long v, StringBuilder out) {
        switch (this) {
            case DEC -> out.append(v);
            case HEX -> appendHex(v, out);
            case PHASE -> {
                if (v >= 0 && v < PHASES.length) out.append(PHASES[(int) v].name());
                else out.append('#').append(v);
            }
            case DECISION -> {
                if (v >= 0 && v < DECISIONS.length) out.append(DECISIONS[(int) v].name());
                else out.append('#').append(v);
            }
            case FAILURE_CAUSE -> out.append(FailureCause.byCode(v).name());
            case REJECT_REASON -> out.append(RejectReason.byCode(v).name());
            case COMMAND -> {
                if (v == CommandIds.STOP) out.append("stop");
                else if (v == CommandIds.DONE) out.append("done");
                else appendHex(v, out);
            }
            case HINT_KIND ->
                out.append(
                        v == EventType.HintCommand.HINT
                                ? "hint"
                                : v == EventType.HintCommand.FREE_BITMAP ? "bitmap" : Long.toString(v));
            case BALLOON_SOURCE ->
                out.append(
                        v == EventType.Balloon.PFNS
                                ? "pfns"
                                : v == EventType.Balloon.BITMAP
                                        ? "bitmap"
                                        : v == EventType.Balloon.AT_SETUP ? "setup" : Long.toString(v));
            case FILL_COUNT -> {
                out.append(EventType.SendFill.pages(v)).append(" fill=0x");
                int fill = EventType.SendFill.fillByte(v);
                if (fill < 0x10) out.append('0');
                out.append(Integer.toHexString(fill));
            }
            case CONTENT_COUNT ->
                out.append(EventType.Content.pages(v)).append(EventType.Content.zero(v) ? " zero" : " nonzero");
            case BOOL -> out.append(v == 0 ? "no" : v == 1 ? "yes" : Long.toString(v));
            case DISCARD_COUNT ->
                out.append(EventType.HostDiscard.pages(v))
                        .append(' ')
                        .append(EventType.HostDiscard.whyName(EventType.HostDiscard.why(v)));
            case QEMU_RECORD ->
                out.append(EventType.QemuPage.zero(v) ? "zero " : "data ")
                        .append(EventType.QemuPage.recordBytes(v))
                        .append('B');
        }
    }

    private static void appendHex(long v, StringBuilder out) {
        out.append("0x").append(Long.toHexString(v));
    }
}
