package dev.ballast.core.run;

import dev.ballast.core.event.EventSink;

/**
 * A guest backend that can run a migration scenario end to end: the simulator, KVM, or any other
 * registered in {@code META-INF/services/dev.ballast.core.run.Backend}. The command line finds a
 * backend by its {@link #name()} alone and never names its class; the engine, policies and
 * journal are the same for every backend.
 */
public interface Backend {
    /** The name users select it by ({@code --backend NAME}): {@code sim}, {@code kvm}, .... */
    String name();

    /**
     * Checks, before anything runs or is printed, that this backend can run the scenario with these
     * options, and throws one {@link SettingException} for the first setting it cannot take (an
     * unknown policy, a size it cannot hold, an option it does not have). Touches no device. The
     * scenario has already checked itself.
     */
    default void check(Scenario scenario, BackendOptions options) {}

    /**
     * Runs the scenario (with its chain and injected failures) and checks every invariant at the
     * end. Never throws for a broken invariant: the report's {@code verify} says so.
     *
     * @param options  where the destination is and how it is made
     * @param events   where every event goes (the journal), or {@link EventSink#NONE}
     * @param progress told how far the run is, from the running thread
     */
    RunReport run(Scenario scenario, BackendOptions options, EventSink events, Progress progress);

    /**
     * Whether this backend writes its journal's manifest itself, during the run (a real QEMU's RAM blocks, and so the
     * journal's layout, come from its stream): then the events sink {@link #run} gets is a {@link ManifestSink} when the
     * run is journaled, and the backend opens it before its first event. Otherwise the journal is opened with
     * {@link RunManifest#of} of the scenario before the run starts.
     */
    default boolean namesItsJournal() {
        return false;
    }

    /** The policies {@code compare} runs when none are named, in the order it shows them. */
    default java.util.List<String> comparedPolicies() {
        return java.util.List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon");
    }

    /** The bandwidth limit when the user sets none, in bits per second (0: unlimited). */
    default long defaultBandwidthBitsPerSec() {
        return 0;
    }

    /** Whether the scenario's {@link CostProfile} drives this backend's clock (a simulator's) rather than the wall clock. */
    default boolean usesCostProfile() {
        return false;
    }

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

        Progress NONE = (phase, iteration, fractionDone, transferredBytes) -> {};
    }
}
