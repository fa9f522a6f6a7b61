package dev.ballast.core.engine;

import dev.ballast.core.run.SettingException;

/**
 * When a migration switches from pre-copy to postcopy, and whether free page hinting may run with
 * it. {@link #OFF}: plain pre-copy. {@code after N}: the switch-over follows the dirty-log sync
 * that ends pass N, unless the pre-copy rule found the rest fits the downtime limit there.
 * {@code auto}: the switch-over follows the first sync after which pre-copy is not converging
 * (see {@link #shouldSwitch}), as a user runs {@code migrate-start-postcopy} on a migration that
 * does not end.
 *
 * <p>QEMU (since 2021) does not start free page hinting while the postcopy capability is on;
 * {@code allowHints} lifts that rule, so that a test can find what it protects against.
 *
 * @param mode        off, after a number of passes, or automatic
 * @param afterPasses with {@link Mode#AFTER}: the pass (from 1, the bulk stage) after which to switch
 * @param allowHints  free page hints run although postcopy is on
 */
public record Postcopy(Mode mode, int afterPasses, boolean allowHints) {
    /** How the switch-over point is chosen. */
    public enum Mode {
        OFF,
        AFTER,
        AUTO
    }

    public static final Postcopy OFF = new Postcopy(Mode.OFF, 0, false);

    /** The most passes {@code --postcopy-after} takes (as {@code --max-iterations}'s range). */
    public static final int MAX_PASSES = 1_000_000;

    /** A pass whose remaining bytes fell by less than this share of the previous pass's is not converging. */
    static final double MIN_PROGRESS = 0.10;

    public Postcopy {
        if (mode == null) throw new SettingException("postcopy-after", null, "missing");
        if (mode == Mode.AFTER && (afterPasses < 1 || afterPasses > MAX_PASSES)) {
            throw new SettingException(
                    "postcopy-after", Integer.toString(afterPasses), "must be a pass number >= 1 or auto");
        }
        if (mode != Mode.AFTER && afterPasses != 0) {
            throw new SettingException(
                    "postcopy-after", Integer.toString(afterPasses), "a pass number needs the mode 'after'");
        }
        if (mode == Mode.OFF && allowHints) {
            throw new SettingException(
                    "postcopy-hints", null, "needs --postcopy-after (there is no postcopy to allow hints with)");
        }
    }

    /** {@code off}, {@code auto} or a pass number, as {@code --postcopy-after} takes it. */
    public static Postcopy parse(String text) {
        if (text == null) throw new SettingException("postcopy-after", null, "missing");
        String t = text.trim();
        if (t.equals("off")) return OFF;
        if (t.equals("auto")) return new Postcopy(Mode.AUTO, 0, false);
        int n;
        try {
            n = Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new SettingException(
                    "postcopy-after", text, "expected a pass number (1 switches after the bulk stage), auto or off");
        }
        if (n < 1 || n > MAX_PASSES)
            throw new SettingException("postcopy-after", text, "must be a pass number >= 1 or auto");
        return new Postcopy(Mode.AFTER, n, false);
    }

    public boolean enabled() {
        return mode != Mode.OFF;
    }

    public Postcopy withHints(boolean allow) {
        return new Postcopy(mode, afterPasses, allow);
    }

    /** Whether {@code passes} finished passes are what {@code --postcopy-after} asked for before the switch. */
    public boolean passesDone(int passes) {
        return mode == Mode.AFTER && passes >= afterPasses;
    }

    /**
     * Whether the migration switches to postcopy after this sync. Never when pre-copy converged
     * (the rest fits the downtime: stop-and-copy is shorter than any postcopy). After N passes:
     * at pass N or later. Auto: when pre-copy would be forced to stop (iteration or time cap), or
     * from the second pass on when the bytes still to send fell by less than a tenth since the
     * previous sync (the guest dirties about as fast as the link sends).
     *
     * @param decision              the pre-copy rule's decision at this sync
     * @param iteration             the passes done (the bulk stage is 1): the pass that just ended, or the one
     *                              before a sync in the middle of a pass
     * @param remainingBytes        bytes to send after this sync
     * @param previousRemainingBytes bytes to send after the previous sync, -1 at the first
     */
    public boolean shouldSwitch(
            Convergence.Decision decision, int iteration, long remainingBytes, long previousRemainingBytes) {
        if (mode == Mode.OFF || decision == Convergence.Decision.CONVERGED) return false;
        if (mode == Mode.AFTER) return iteration >= afterPasses || decision != Convergence.Decision.CONTINUE;
        if (decision != Convergence.Decision.CONTINUE) return true;
        return previousRemainingBytes > 0
                && iteration >= 2
                && remainingBytes > previousRemainingBytes * (1 - MIN_PROGRESS);
    }

    @Override
    public String toString() {
        String s = switch (mode) {
            case OFF -> "off";
            case AUTO -> "auto";
            case AFTER -> Integer.toString(afterPasses);
        };
        return allowHints ? s + "+hints" : s;
    }

    /** The inverse of {@link #toString()} (the journal header keeps it so). */
    public static Postcopy fromString(String s) {
        boolean hints = s.endsWith("+hints");
        Postcopy p = parse(hints ? s.substring(0, s.length() - "+hints".length()) : s);
        return hints ? p.withHints(true) : p;
    }
}
