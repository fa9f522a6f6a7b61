package dev.ballast.sim;

/** The invariants of DESIGN.md broken during a run; keeps the first, counts all. */
public final class Violations {
    public static final String[] NAMES = {
        "",
        "no lost write",
        "poison preserved",
        "no needless resend",
        "hints are never stale",
        "every writer is tracked",
        "failure loses nothing",
        "nothing from the wire is trusted",
    };

    private String first;
    private int firstInvariant;
    private long count;

    public void record(int invariant, String what) {
        count++;
        if (first == null) {
            firstInvariant = invariant;
            first = "invariant " + invariant + " (" + NAMES[invariant] + "): " + what;
        }
    }

    public boolean any() { return count > 0; }

    public long count() { return count; }

    /** The first broken invariant with its page, or null. */
    public String first() { return first; }

    public int firstInvariant() { return firstInvariant; }
}
