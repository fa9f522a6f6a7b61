package dev.ballast.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.ballast.core.run.CostProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** Where the calibrated cost profile lives, and reading and writing it as JSON. */
final class CostProfiles {
    private CostProfiles() {}

    /** A profile and a few words on where it came from, for the run's header. */
    record Resolved(CostProfile profile, String description) {}

    /** {@code $XDG_CONFIG_HOME/ballast/cost-profile.json}, else {@code ~/.config/ballast/cost-profile.json}. */
    static Path defaultPath(Map<String, String> env) {
        String xdg = env.get("XDG_CONFIG_HOME");
        Path config;
        if (xdg != null && !xdg.isBlank()) {
            config = Path.of(xdg);
        } else {
            String home = env.getOrDefault("HOME", System.getProperty("user.home"));
            config = Path.of(home, ".config");
        }
        return config.resolve("ballast").resolve("cost-profile.json");
    }

    /**
     * The profile {@code --profile} names: {@code defaults}, a file, or (when not given) the
     * calibrated one if it exists, else the defaults.
     */
    static Resolved resolve(String option, Map<String, String> env) {
        if ("defaults".equals(option)) return new Resolved(CostProfile.defaults(), "built-in defaults");
        if (option != null) {
            Path file = Path.of(option);
            try {
                CostProfile p = read(file);
                return new Resolved(p, file + " (" + p.source() + ")");
            } catch (IOException | IllegalArgumentException e) {
                throw new UsageException("--profile " + option + ": " + reason(e), e);
            }
        }
        Path file = defaultPath(env);
        if (!Files.isRegularFile(file)) {
            return new Resolved(CostProfile.defaults(), "built-in defaults (no calibrated profile at " + file + ")");
        }
        try {
            CostProfile p = read(file);
            return new Resolved(p, file + " (" + p.source() + ")");
        } catch (IOException | IllegalArgumentException e) {
            throw new UncheckedIOException(new IOException(
                    "cost profile " + file + ": " + reason(e)
                            + " (run `ballast calibrate` again, or pass --profile defaults)",
                    e));
        }
    }

    static CostProfile read(Path file) throws IOException {
        return Json.MAPPER.readValue(file.toFile(), CostProfile.class);
    }

    static void write(Path file, CostProfile profile) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Json.MAPPER.writeValue(tmp.toFile(), profile);
        Files.move(
                tmp,
                file,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static String reason(Exception e) {
        if (e instanceof NoSuchFileException || e instanceof java.io.FileNotFoundException) return "no such file";
        if (e instanceof JsonProcessingException j) return "not a cost profile: " + j.getOriginalMessage();
        if (e.getCause() instanceof IllegalArgumentException iae) return iae.getMessage();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
