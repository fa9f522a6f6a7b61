package dev.ballast.cli;

import dev.ballast.core.run.SettingException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code ballast} command. Every error becomes one line on stderr and an exit code (see
 * {@link ExitCodes}); {@code BALLAST_DEBUG=1} adds the stack trace.
 */
@Command(
        name = "ballast",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        usageHelpAutoWidth = true,
        subcommands = {
            RunCommand.class,
            CompareCommand.class,
            JournalCommands.ReplayCommand.class,
            JournalCommands.InspectCommand.class,
            JournalCommands.DiffCommand.class,
            ReportCommand.class,
            CalibrateCommand.class,
            DestCommand.class,
            IngestCommand.class,
            TapCommand.class
        },
        description = "A live-migration test bench for VMs: legacy pre-copy against balloon skip, free page hints "
                + "and free page bitmaps, on a simulated or a real KVM guest.")
public final class Main implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        Context ctx =
                new Context(Backends.discover(), env, System.out, System.err, () -> Terminal.stderrIsTerminal(env));
        int code = execute(ctx, args);
        System.out.flush();
        System.err.flush();
        System.exit(code);
    }

    /** Runs the command line against this context and returns the exit code; never throws. */
    public static int execute(Context ctx, String... args) {
        CommandLine cl = commandLine(ctx);
        try {
            return cl.execute(args);
        } catch (RuntimeException | Error e) {
            return fail(ctx, e);
        }
    }

    static CommandLine commandLine(Context ctx) {
        CommandLine cl = new CommandLine(new Main(), new Factory(ctx));
        cl.setOut(new PrintWriter(ctx.out(), true));
        cl.setErr(new PrintWriter(ctx.err(), true));
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, args) -> usageError(ctx, ex));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> fail(ctx, ex, parsed));
        footer(cl, false);
        footer(cl.getSubcommands().get("run"), true);
        footer(cl.getSubcommands().get("compare"), true);
        footer(cl.getSubcommands().get("calibrate"), false);
        for (CommandLine sub : cl.getSubcommands().values())
            docs(sub, DOCS.getOrDefault(sub.getCommandName(), DOCS_DEFAULT));
        docs(cl, DOCS_ALL);
        return cl;
    }

    /** Where each command's help sends the reader: files of {@code docs/} in the repository, never a document outside it. */
    static final String DOCS_ALL =
            "Documentation (in the repository's docs/): invariants.md (the invariants by number and name), "
                    + "policies.md (the policies), seeds.md (the QEMU and Linux patch series this bench comes from; not --seed), "
                    + "reference.md (every command's exit codes, messages, --json).";

    static final String DOCS_DEFAULT = "Exit codes and messages of every command: docs/reference.md in the repository.";
    static final Map<String, String> DOCS = Map.of(
            "run",
                    "See docs/invariants.md (what each invariant means), docs/policies.md (the policies), docs/seeds.md "
                            + "(the patch series the policies come from; --seed is the random seed) and docs/reference.md (exit codes, --json).",
            "compare",
                    "See docs/policies.md (the policies), docs/invariants.md (what each invariant means), docs/seeds.md "
                            + "(the patch series and their figures; --seed is the random seed) and docs/reference.md (exit codes, --json).",
            "report",
                    "The seeds' figures beside each run come from the patch series of docs/seeds.md; exit codes: docs/reference.md.");

    private static void docs(CommandLine cl, String line) {
        List<String> lines =
                new ArrayList<>(List.of(cl.getCommandSpec().usageMessage().footer()));
        lines.add("");
        lines.add(line);
        cl.getCommandSpec().usageMessage().footer(lines.toArray(String[]::new));
    }

    private static void footer(CommandLine cl, boolean runs) {
        List<String> lines =
                new ArrayList<>(List.of(cl.getCommandSpec().usageMessage().footer()));
        lines.addAll(List.of(ExitCodes.helpFooter(runs)));
        cl.getCommandSpec().usageMessage().footer(lines.toArray(String[]::new));
    }

    /** {@code ballast} with no command: the usage on stderr, exit 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return ExitCodes.USAGE;
    }

    private static int usageError(Context ctx, ParameterException ex) {
        debug(ctx, ex);
        ctx.err().println("ballast: " + describe(ex));
        ctx.err().flush();
        return ExitCodes.USAGE;
    }

    /** One line for a bad command line: {@code --mem 8X: size '8X': expected ...}. */
    static String describe(ParameterException ex) {
        String command = ex.getCommandLine() == null
                ? "ballast"
                : ex.getCommandLine().getCommandSpec().qualifiedName();
        if (ex.getArgSpec() instanceof OptionSpec option
                && ex.getValue() != null
                && ex.getCause() != null
                && ex.getCause().getMessage() != null) {
            String reason = ex.getCause() instanceof SettingException s
                    ? s.rule()
                    : ex.getCause().getMessage();
            return option.longestName() + " " + ex.getValue() + ": " + oneLine(reason);
        }
        if (ex instanceof UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String what = u.getUnmatched().getFirst();
            if (!what.startsWith("-")) return "unexpected argument '" + what + "'; see '" + command + " --help'";
            String name = what.contains("=") ? what.substring(0, what.indexOf('=')) : what;
            List<String> near = ex.getCommandLine() == null
                    ? List.of()
                    : nearest(name, ex.getCommandLine().getCommandSpec());
            return "unknown option '" + name + "'"
                    + (near.isEmpty() ? "" : " (did you mean " + String.join(" or ", near) + "?)") + "; see '" + command
                    + " --help'";
        }
        String msg = oneLine(ex.getMessage());
        return ex.getArgSpec() == null
                        && ex.getCause() == null
                        && ex.getMessage().startsWith("--")
                ? msg
                : msg + "; see '" + command + " --help'";
    }

    /** Option names of the command within two edits of {@code name}, that it is a prefix of, or that share all but its last two characters. */
    static List<String> nearest(String name, CommandSpec spec) {
        return spec.options().stream()
                .flatMap(o -> java.util.Arrays.stream(o.names()))
                .filter(n -> n.startsWith("--")
                        && (n.startsWith(name)
                                || editDistance(n, name) <= 2
                                || name.length() >= 7 && commonPrefix(n, name) >= name.length() - 2))
                .distinct()
                .sorted(java.util.Comparator.comparingInt((String n) -> editDistance(n, name))
                        .thenComparing(n -> n))
                .limit(3)
                .toList();
    }

    private static int commonPrefix(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) i++;
        return i;
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /**
     * A setting the scenario, the backend or a destination refused, as the user wrote it:
     * {@code --mem 1P: the simulator holds at most 2T}. The value is the one typed on the command
     * line when the option was given there, the option's default when it was not, else the
     * exception's own; a flag has none.
     */
    static String describe(SettingException e, ParseResult parsed) {
        String option = "--" + e.name();
        String value = e.value();
        if (parsed != null) {
            ParseResult leaf = parsed;
            while (leaf.subcommand() != null) leaf = leaf.subcommand();
            OptionSpec o = leaf.commandSpec().findOption(option);
            if (o != null) {
                List<String> typed = leaf.hasMatchedOption(option)
                        ? leaf.matchedOption(option).originalStringValues()
                        : List.of();
                if (o.arity().max() == 0) value = null;
                else if (!typed.isEmpty()) value = typed.getLast();
                else if (o.defaultValue() != null) value = o.defaultValue();
            }
        }
        return option + (value == null ? "" : " " + value) + ": " + oneLine(e.rule());
    }

    /** Any failure after parsing: a usage error (exit 2) or a runtime error (exit 1), in one line. */
    static int fail(Context ctx, Throwable e) {
        return fail(ctx, e, null);
    }

    private static int fail(Context ctx, Throwable e, ParseResult parsed) {
        debug(ctx, e);
        if (e instanceof ParameterException pe) return usageError(ctx, pe);
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SettingException s) {
                ctx.err().println("ballast: " + describe(s, parsed));
                ctx.err().flush();
                return ExitCodes.USAGE;
            }
        }
        if (e instanceof UsageException) {
            ctx.err().println("ballast: " + oneLine(e.getMessage()));
            return ExitCodes.USAGE;
        }
        ctx.err().println("ballast: " + explain(e));
        ctx.err().flush();
        return ExitCodes.ERROR;
    }

    /**
     * The one line a user reads for a failure, with no Java class name: Ballast's own exceptions and the
     * JDK's I/O and argument errors carry messages meant for users; anything else is an internal error,
     * and {@code BALLAST_DEBUG=1} shows its stack trace.
     */
    static String explain(Throwable e) {
        Throwable t = e;
        while ((t instanceof UncheckedIOException
                        || t instanceof CommandLine.ExecutionException
                        || t instanceof java.util.concurrent.ExecutionException
                        || t instanceof java.lang.reflect.InvocationTargetException)
                && t.getCause() != null
                && t.getMessage() == null) {
            t = t.getCause();
        }
        if (t instanceof UncheckedIOException u && u.getCause() != null) {
            String outer = u.getMessage();
            String inner = explain(u.getCause());
            return outer == null
                            || outer.endsWith(inner)
                            || outer.equals(u.getCause().toString())
                    ? inner
                    : oneLine(outer);
        }
        if (t instanceof NoSuchFileException f) return "no such file: " + f.getFile();
        if (t instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (t instanceof FileAlreadyExistsException f) return "already exists: " + f.getFile();
        if (t instanceof OutOfMemoryError) {
            return "out of memory (" + t.getMessage() + "); give the JVM more heap, e.g. BALLAST_JAVA_OPTS=-Xmx8g";
        }
        String msg = t.getMessage();
        boolean meantForUsers = t.getClass().getName().startsWith("dev.ballast.")
                || t instanceof IOException
                || t instanceof UnsupportedOperationException
                || t instanceof IllegalStateException
                || t instanceof IllegalArgumentException;
        if (meantForUsers && msg != null && !msg.isBlank()) return oneLine(msg);
        return "internal error: " + (msg == null || msg.isBlank() ? "a failure with no message" : oneLine(msg))
                + " (BALLAST_DEBUG=1 shows the stack trace)";
    }

    static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    private static void debug(Context ctx, Throwable e) {
        if (ctx.debug()) e.printStackTrace(ctx.err());
    }

    /** Makes commands that take a {@link Context}; everything else the default way. */
    private record Factory(Context ctx) implements CommandLine.IFactory {
        @Override
        public <K> K create(Class<K> cls) throws Exception {
            try {
                Constructor<K> c = cls.getDeclaredConstructor(Context.class);
                return c.newInstance(ctx);
            } catch (NoSuchMethodException e) {
                return CommandLine.defaultFactory().create(cls);
            }
        }
    }

    /** Ballast's version, from the build. */
    static String version() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version", "(unknown version)");
    }

    /** {@code ballast 0.1.0 (Java 25.0.3, Eclipse Adoptium)}. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "ballast " + version() + " (Java " + Runtime.version() + ", " + System.getProperty("java.vendor") + ")"
            };
        }
    }
}
