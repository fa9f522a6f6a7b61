package dev.ballast.report;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.replay.EventStream;
import dev.ballast.sim.SimRun;

import java.util.Arrays;

/** A simulated run recorded in memory: five longs per event, read back as often as wanted. */
final class Recorded implements EventSink {
    final RunManifest manifest;
    RunReport report;
    long[] data = new long[5 * 4096];
    int events;

    private Recorded(RunManifest manifest) {
        this.manifest = manifest;
    }

    static Recorded run(Scenario s) {
        Recorded r = new Recorded(RunManifest.of(s));
        r.report = new SimRun(s, s.layout(), SimRun.Hooks.NONE, r, Backend.Progress.NONE).run();
        return r;
    }

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        if (5 * (events + 1) > data.length) data = Arrays.copyOf(data, data.length * 2);
        int i = 5 * events++;
        data[i] = type.id();
        data[i + 1] = timeNs;
        data[i + 2] = a;
        data[i + 3] = b;
        data[i + 4] = c;
    }

    EventStream stream() {
        int[] next = {0};
        return into -> {
            if (next[0] >= events) return false;
            int i = 5 * next[0];
            into.set(next[0]++, EventType.byId((int) data[i]), data[i + 1], data[i + 2], data[i + 3], data[i + 4]);
            return true;
        };
    }

    /** The index of the first event of this type, or -1. */
    int first(EventType type) {
        for (int k = 0; k < events; k++) if (data[5 * k] == type.id()) return k;
        return -1;
    }

    void set(int event, int field, long value) {
        data[5 * event + field] = value;
    }

    RunInput input() {
        return RunInput.of(manifest, this::stream);
    }

    RunInput input(String label) {
        return new RunInput(label, manifest, this::stream);
    }
}
