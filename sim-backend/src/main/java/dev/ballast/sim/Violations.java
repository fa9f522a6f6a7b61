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

    /** At most this many violations are kept word for word; the rest are only counted. */
    public static final int KEPT = 64;

    private String first;
    private int firstInvariant;
    private long count;
    private final java.util.List<String> kept = new java.util.ArrayList<>();

    public void record(int invariant, String what) {
        count++;
        String v = "invariant " + invariant + " (" + NAMES[invariant] + "): " + what;
        if (kept.size() < KEPT) kept.add(v);
        if (first == null) {
            firstInvariant = invariant;
            first = v;
        }
    }

    /** The first {@link #KEPT} violations, in the order they were found. */
    public java.util.List<String> all() { return java.util.List.copyOf(kept); }

    public boolean any() { return count > 0; }

    public long count() { return count; }

    /** The first broken invariant with its page, or null. */
    public String first() { return first; }

    public int firstInvariant() { return firstInvariant; }
}
