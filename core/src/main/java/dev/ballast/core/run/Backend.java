package dev.ballast.core.run;

import dev.ballast.core.event.EventSink;

/**
 * A guest backend that can run a migration scenario end to end: the simulator or KVM. The
 * engine, policies and journal are the same for every backend.
 */
public interface Backend {
    /** "sim" or "kvm". */
    String name();

    /**
     * Runs the scenario (with its chain and injected failures) and checks every invariant at the
     * end. Never throws for a broken invariant: the report's {@code verify} says so.
     *
     * @param events   where every event goes (the journal), or {@link EventSink#NONE}
     * @param progress told how far the run is, from the running thread
     */
    RunReport run(Scenario scenario, EventSink events, Progress progress);

    /**
     * Whether the backend's times are wall-clock times of real work (KVM), which a cold JVM, caches and the host's
     * memory make vary from run to run, rather than a model's virtual times, which the same scenario repeats exactly.
     * A fair comparison on such a backend warms up first and repeats its rounds.
     */
    default boolean measuresWallTime() {
        return false;
    }

    /** Told how far a run is. Implementations must be cheap: called up to a few hundred times a second. */
    @FunctionalInterface
    interface Progress {
        void update(String phase, int iteration, double fractionDone, long transferredBytes);

        Progress NONE = (phase, iteration, fractionDone, transferredBytes) -> { };
    }
}
