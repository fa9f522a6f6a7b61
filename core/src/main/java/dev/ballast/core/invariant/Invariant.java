package dev.ballast.core.invariant;

/**
 * The invariants that every policy must keep, checked at the end of every run (and some while it
 * runs). Each has a number and a short name that every report of a broken one starts with:
 * {@code invariant 1 (no lost write): page ram-low+0x12 ...}. {@code docs/invariants.md} says what
 * each protects and how each backend checks it; {@code InvariantDocTest} keeps the two alike.
 *
 * <p>Adding one: a constant here (the next number), its section in {@code docs/invariants.md}, and
 * a checker in each backend that can see it break (the simulator's are in {@code dev.ballast.sim},
 * one class per invariant).
 */
public enum Invariant {
    NO_LOST_WRITE(
            1,
            "no lost write",
            "every page the guest uses when it is paused holds, on the destination, exactly what it held on the source"),
    POISON_PRESERVED(
            2,
            "poison preserved",
            "when the guest poisons free pages, a free page that was skipped still reads as the poison value on the destination"),
    NO_NEEDLESS_RESEND(3, "no needless resend", "a page is sent again only if it was written after it was last sent"),
    HINTS_NEVER_STALE(
            4,
            "hints are never stale",
            "a hint clears pages only if the guest produced it after the most recent dirty-log sync, for the live command id"),
    EVERY_WRITER_TRACKED(
            5,
            "every writer is tracked",
            "writes the host itself makes to guest memory (device rings, replies) are marked dirty like the guest's own"),
    FAILURE_LOSES_NOTHING(
            6,
            "failure loses nothing",
            "a failed or cancelled migration leaves the source running with its dirty tracking intact, so a retry or a chain keeps invariant 1"),
    WIRE_NOT_TRUSTED(
            7,
            "nothing from the wire is trusted",
            "a page stream or bitmap whose offsets or lengths run past a block is rejected with a clear error, and nothing is written"),
    FAULTS_SERVED(
            8,
            "every fault is served",
            "in postcopy, every page the guest faults on at the destination is placed within a bound, by the source or by the destination itself");

    private static final Invariant[] BY_NUMBER = new Invariant[values().length + 1];

    static {
        for (Invariant i : values()) BY_NUMBER[i.number] = i;
    }

    private final int number;
    private final String title;
    private final String definition;

    Invariant(int number, String title, String definition) {
        this.number = number;
        this.title = title;
        this.definition = definition;
    }

    /** Its number, from 1, as the documents and reports use it. */
    public int number() {
        return number;
    }

    /** Its short name, as reports print it: {@code no lost write}. */
    public String title() {
        return title;
    }

    /** What it requires, in one line. */
    public String definition() {
        return definition;
    }

    /** How a report names it: {@code invariant 1 (no lost write)}. */
    public String label() {
        return "invariant " + number + " (" + title + ")";
    }

    /** A report of this invariant broken: {@code invariant 1 (no lost write): what}. */
    public String violation(String what) {
        return label() + ": " + what;
    }

    /** The invariant with this number. */
    public static Invariant ofNumber(int number) {
        if (number < 1 || number >= BY_NUMBER.length)
            throw new IllegalArgumentException("invariant " + number + ": no such invariant");
        return BY_NUMBER[number];
    }

    /** The invariant a report names ({@link #violation}'s words), or null if it names none. */
    public static Invariant named(String violation) {
        if (violation == null) return null;
        for (Invariant i : values()) if (violation.startsWith(i.label())) return i;
        return null;
    }
}
