package dev.ballast.cli;

import dev.ballast.core.run.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Supplier;

/**
 * The backends the command can run, found with {@link ServiceLoader} (each backend module
 * registers itself in {@code META-INF/services/dev.ballast.core.run.Backend}), so the command
 * line does not depend on their classes. Looked up lazily: {@code --help} loads none.
 */
public final class Backends {
    private final Supplier<List<Backend>> source;
    private List<Backend> loaded;

    private Backends(Supplier<List<Backend>> source) {
        this.source = source;
    }

    /** Every backend registered on the class path. */
    public static Backends discover() {
        return new Backends(() -> {
            List<Backend> all = new ArrayList<>();
            ServiceLoader.load(Backend.class).forEach(all::add);
            return all;
        });
    }

    /** Exactly these backends (tests). */
    public static Backends of(Backend... backends) {
        List<Backend> list = List.of(backends);
        return new Backends(() -> list);
    }

    public synchronized List<Backend> all() {
        if (loaded == null) loaded = List.copyOf(source.get());
        return loaded;
    }

    /** The backend of this name; a usage error naming the ones there are when there is none. */
    public Backend get(String name) {
        List<String> names = new ArrayList<>();
        for (Backend b : all()) {
            if (b.name().equals(name)) return b;
            names.add(b.name());
        }
        throw new UsageException("--backend " + name + ": no such backend in this build (available: "
                + (names.isEmpty() ? "none" : String.join(", ", names)) + ")");
    }
}
