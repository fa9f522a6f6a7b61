package dev.ballast.report;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimRun;

/** A simulated run recorded in memory, with what the simulator reported about it. */
final class Recorded {
    final RunManifest manifest;
    final EventRecording events = new EventRecording();
    RunReport report;

    private Recorded(RunManifest manifest) {
        this.manifest = manifest;
    }

    static Recorded run(Scenario s) {
        Recorded r = new Recorded(RunManifest.of(s));
        r.report = new SimRun(s, s.layout(), SimRun.Hooks.NONE, r.events, Backend.Progress.NONE).run();
        return r;
    }

    int count() {
        return events.events();
    }

    int first(EventType type) {
        return events.first(type);
    }

    void set(int event, int field, long value) {
        events.set(event, field, value);
    }

    RunInput input() {
        return RunInput.of(manifest, events.streams());
    }

    RunInput input(String label) {
        return new RunInput(label, manifest, events.streams());
    }
}
