package dev.ballast.core.event;

/**
 * One of the three 64-bit fields {@code a, b, c} of an event type: the name the dissector prints,
 * how its value is coded, and what it means.
 */
public record EventField(String name, FieldFormat format, String meaning) {
    /** The RAM block's index in the layout. */
    public static final EventField BLOCK = new EventField("block", FieldFormat.DEC, "RAM block index");
    /** The first page's offset in the block, in pages. */
    public static final EventField OFFSET =
            new EventField("offset", FieldFormat.HEX, "first page, as an offset in the block");
    /** Pages in the range. */
    public static final EventField PAGES = new EventField("pages", FieldFormat.DEC, "pages in the range");
    /** A guest-physical frame number as the guest sent it (it may name no RAM). */
    public static final EventField PFN = new EventField("pfn", FieldFormat.HEX, "first PFN, as the guest sent it");
    /** A free page hint command id. */
    public static final EventField COMMAND = new EventField("cmd", FieldFormat.COMMAND, "the command id it answers");

    public static EventField of(String name, FieldFormat format, String meaning) {
        return new EventField(name, format, meaning);
    }
}
