package dev.ballast.cli;

/** The exit codes of the {@code ballast} command, as every command's {@code --help} footer and {@code docs/reference.md} list them. */
public final class ExitCodes {
    private ExitCodes() {}

    /** The command did what was asked, and every run verified. */
    public static final int OK = 0;
    /** Something failed while running: I/O, a missing or unusable {@code /dev/kvm}, a damaged file. */
    public static final int ERROR = 1;
    /** The command line was wrong: an unknown option, a bad value, a setting the backend refuses. */
    public static final int USAGE = 2;
    /** A run completed but broke one of the invariants of {@code docs/invariants.md} ({@code verify.ok} is false). */
    public static final int INVARIANT_BROKEN = 3;
    /** A replay made a decision that differs from the journal's ({@code ballast replay}). */
    public static final int REPLAY_DIVERGED = 4;

    /** The footer every command's help ends with; {@code runs} adds code 3, which only run and compare give. */
    static String[] helpFooter(boolean runs) {
        var lines = new java.util.ArrayList<>(java.util.List.of(
                "",
                "Exit codes:",
                "  0  success" + (runs ? " (every run verified)" : ""),
                "  1  error while running (I/O, /dev/kvm missing or unusable, ...)",
                "  2  bad command line: an unknown option or a bad value"));
        if (runs) lines.add("  3  a run broke an invariant (verify failed; the first one is printed)");
        if (runs)
            lines.add("  130  stopped by Ctrl-C: the journal is cut short but replays up to its last complete event");
        lines.add("");
        lines.add("Set BALLAST_DEBUG=1 to see the stack trace of an error.");
        return lines.toArray(String[]::new);
    }
}
