package dev.ballast.sim;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;

/**
 * The deterministic simulated guest as a {@link Backend}, named {@code sim}. Its destination is a
 * model in this process: it has no memory to preallocate and cannot be in another process.
 */
public final class SimBackend implements Backend {
    /** Without a limit given, the simulated link runs at the seeds' 10 Gbit/s. */
    static final long DEFAULT_BANDWIDTH_BITS_PER_SEC = 10_000_000_000L;

    @Override
    public String name() {
        return "sim";
    }

    @Override
    public void check(Scenario scenario, BackendOptions options) {
        if (options.preallocate()) {
            throw new SettingException(
                    "prealloc", null, "needs --backend kvm (the simulator's destination allocates nothing)");
        }
        if (options.destination() != null) {
            throw new SettingException(
                    "dest", null, "needs --backend kvm (the simulator's destination is a model in this process)");
        }
        options.userBuild().refuseIn(name());
        SimRun.check(scenario, scenario.layout());
    }

    @Override
    public RunReport run(Scenario scenario, BackendOptions options, EventSink events, Progress progress) {
        check(scenario, options);
        return new SimRun(scenario, scenario.layout(), SimRun.Hooks.NONE, events, progress).run();
    }

    @Override
    public long defaultBandwidthBitsPerSec() {
        return DEFAULT_BANDWIDTH_BITS_PER_SEC;
    }

    @Override
    public boolean usesCostProfile() {
        return true;
    }
}
