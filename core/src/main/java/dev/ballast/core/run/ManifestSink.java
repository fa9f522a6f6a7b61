package dev.ballast.core.run;

import dev.ballast.core.event.EventSink;
import java.util.Map;

/**
 * The events sink of a backend whose journal header only the run itself can write ({@link Backend#namesItsJournal()}):
 * a real QEMU's RAM blocks, and so the journal's layout, are known only once its stream's setup has been read. The
 * backend calls {@link #open} once, before its first event; a journal is created then.
 */
public interface ManifestSink extends EventSink {
    /** The run's manifest and the header entries beyond it; called once, before any {@link #publish}. */
    void open(RunManifest manifest, Map<String, String> header);
}
