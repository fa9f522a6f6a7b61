package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;
import java.util.ArrayList;
import java.util.List;

/**
 * The invariants ({@code docs/invariants.md}) that the simulator's checkers found broken during a
 * run: keeps the first, the first {@link #KEPT} word for word, and counts all.
 */
public final class Violations {
    /** At most this many violations are kept word for word; the rest are only counted. */
    public static final int KEPT = 64;

    private String first;
    private Invariant firstInvariant;
    private long count;
    private final List<String> kept = new ArrayList<>();

    public void record(Invariant invariant, String what) {
        count++;
        String v = invariant.violation(what);
        if (kept.size() < KEPT) kept.add(v);
        if (first == null) {
            firstInvariant = invariant;
            first = v;
        }
    }

    /** The first {@link #KEPT} violations, in the order they were found. */
    public List<String> all() {
        return List.copyOf(kept);
    }

    public boolean any() {
        return count > 0;
    }

    public long count() {
        return count;
    }

    /** The first broken invariant with its page, or null. */
    public String first() {
        return first;
    }

    /** The first broken invariant, or null. */
    public Invariant firstInvariant() {
        return firstInvariant;
    }
}
