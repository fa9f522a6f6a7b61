package dev.ballast.sim;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;

/** The deterministic simulated guest as a {@link Backend}. */
public final class SimBackend implements Backend {
    @Override
    public String name() { return "sim"; }

    @Override
    public RunReport run(Scenario scenario, EventSink events, Progress progress) {
        return new SimRun(scenario, scenario.layout(), SimRun.Hooks.NONE, events, progress).run();
    }
}
