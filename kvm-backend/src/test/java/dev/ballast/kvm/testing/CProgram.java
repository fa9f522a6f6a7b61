package dev.ballast.kvm.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Compiles a C file with gcc and runs it, for tests that compare Java with C headers. */
public final class CProgram {
    private CProgram() {}

    /** The module's directory (Maven runs tests there). */
    public static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/c")) ? here : here.resolve("kvm-backend");
    }

    /** Compiles {@code source} with {@code gcc flags...} into {@code workDir} and returns its standard output lines. */
    public static List<String> compileAndRun(Path source, Path workDir, String... flags)
            throws IOException, InterruptedException {
        Path exe = workDir.resolve(source.getFileName().toString().replace(".c", ""));
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O0", "-Wall", "-o", exe.toString()));
        cmd.addAll(List.of(flags));
        cmd.add(source.toString());
        run(cmd);
        return run(List.of(exe.toString()));
    }

    private static List<String> run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
        }
        return out.lines().toList();
    }
}
