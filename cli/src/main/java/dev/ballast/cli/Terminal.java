package dev.ballast.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/** Whether standard error is a terminal, so a progress line may be drawn there. */
final class Terminal {
    private Terminal() {}

    private static final int STDERR = 2;

    /**
     * True when stderr is a terminal ({@code isatty(2)} through FFM; where that is not possible,
     * {@link java.io.Console#isTerminal()}) and neither {@code TERM=dumb} nor {@code BALLAST_PROGRESS=0}.
     */
    static synchronized boolean stderrIsTerminal(Map<String, String> env) {
        if (answer == null) answer = check(env);
        return answer;
    }

    private static Boolean answer;

    @SuppressWarnings("restricted") // one native call, isatty; the launcher and tests enable native access
    private static boolean check(Map<String, String> env) {
        if ("0".equals(env.get("BALLAST_PROGRESS")) || "dumb".equals(env.get("TERM"))) return false;
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle isatty = linker.downcallHandle(
                    linker.defaultLookup().find("isatty").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return (int) isatty.invokeExact(STDERR) == 1;
        } catch (Throwable e) {
            var console = System.console();
            return console != null && console.isTerminal();
        }
    }
}
