package dev.ballast.report;

import dev.ballast.core.run.RunManifest;
import dev.ballast.replay.EventStream;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One run to draw: what its journal header says and a way to read its events. The supplier may be
 * called more than once (a journal can be read twice); each call must start from the first event.
 *
 * @param label    what the report calls the run (a policy, a journal's file name); null: the policy
 * @param manifest the run's settings
 * @param events   opens the run's event stream from its first event
 */
public record RunInput(String label, RunManifest manifest, Supplier<EventStream> events) {
    public RunInput {
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(events, "events");
        if (label == null || label.isBlank()) label = manifest.policy();
    }

    /** A run labelled by its policy. */
    public static RunInput of(RunManifest manifest, Supplier<EventStream> events) {
        return new RunInput(null, manifest, events);
    }
}
