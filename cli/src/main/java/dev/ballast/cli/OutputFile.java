package dev.ballast.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A file a command will write ({@code --json}, {@code --report}, {@code report -o}, {@code calibrate --out}), checked
 * before any work starts, so a bad path never costs a run's results and no command destroys data:
 * <ul>
 *   <li>its folder must exist or be makeable, and be writable ("no such directory", "is not a directory");</li>
 *   <li>it must not be a directory, nor lie inside a journal (a folder holding Chronicle's {@code *.cq4} or
 *       {@code *.cq4t} files), nor be one of the command's inputs, nor lie inside one;</li>
 *   <li>an existing file must be of the kind the command writes (HTML for a report, JSON for JSON), or empty, unless
 *       {@code --force}.</li>
 * </ul>
 */
final class OutputFile {
    /** What a command writes. */
    enum Kind {
        HTML("an HTML file"),
        JSON("a JSON file");

        final String description;

        Kind(String description) {
            this.description = description;
        }
    }

    private OutputFile() {}

    /**
     * Checks {@code file} as the output of {@code option}; throws a {@link UsageException} naming the option and the
     * path in plain words. {@code inputs} are the paths the command reads (journals, profiles) or creates
     * (a run's journal directory); the output may be none of them and lie inside none of them.
     */
    static Path check(String option, Path file, Kind kind, boolean force, List<Path> inputs) {
        String where = option + " " + file;
        Path abs = file.toAbsolutePath().normalize();
        if (Files.isDirectory(abs)) throw new UsageException(where + ": is a directory; name a file");
        for (Path in : inputs) {
            Path i = in.toAbsolutePath().normalize();
            if (abs.equals(i)) throw new UsageException(where + ": is one of the command's inputs; name another file");
            if (abs.startsWith(i))
                throw new UsageException(
                        where + ": is inside " + in + ", which the command reads or writes; name a file elsewhere");
        }
        Path parent = abs.getParent();
        for (Path p = parent; p != null; p = p.getParent()) {
            if (isJournal(p))
                throw new UsageException(where + ": is inside the journal " + p + "; name a file elsewhere");
        }
        Path existing = parent;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null || !Files.isDirectory(existing)) {
            throw new UsageException(
                    where + ": no such directory (" + (existing == null ? parent : existing) + " is not a directory)");
        }
        if (!Files.isWritable(existing))
            throw new UsageException(where + ": cannot write in " + existing + " (permission denied)");
        if (Files.exists(abs)) {
            if (!Files.isRegularFile(abs)) throw new UsageException(where + ": is not a regular file");
            if (!Files.isWritable(abs)) throw new UsageException(where + ": cannot overwrite it (permission denied)");
            if (!force && !isOfKind(abs, kind)) {
                throw new UsageException(where + ": exists and is not " + kind.description
                        + "; refusing to overwrite it (--force to do so)");
            }
        }
        return file;
    }

    /** Whether {@code dir} holds a journal: Chronicle Queue's files. */
    static boolean isJournal(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        try (var files = Files.list(dir)) {
            return files.anyMatch(f -> {
                String n = f.getFileName().toString();
                return n.endsWith(".cq4") || n.endsWith(".cq4t");
            });
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether an existing file looks like what {@code kind} writes (an empty file does). */
    static boolean isOfKind(Path file, Kind kind) {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(512);
        } catch (IOException e) {
            return false;
        }
        String s = new String(head, StandardCharsets.UTF_8).stripLeading();
        if (s.startsWith("\uFEFF")) s = s.substring(1).stripLeading();
        if (s.isEmpty()) return true;
        return switch (kind) {
            case HTML -> {
                String l = s.toLowerCase(Locale.ROOT);
                yield l.startsWith("<!doctype html") || l.startsWith("<html");
            }
            case JSON -> s.charAt(0) == '{' || s.charAt(0) == '[';
        };
    }
}
