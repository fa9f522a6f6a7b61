package dev.ballast.sim;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;

/** What the simulator's tests share: sizes, the built-in policies and workloads, and a run with or without hooks. */
final class SimRuns {
    private SimRuns() {}

    static final long M = 1L << 20;
    static final long G = 1L << 30;
    static final String[] POLICIES = {"legacy", "balloon", "hint", "bitmap", "hint+balloon"};
    static final String[] WORKLOADS = {"idle", "memhog", "compile", "random-write", "balloon:25", "deflate-race"};

    /** Hashes every event; two runs with equal digests saw the same stream. */
    static final class Digest implements EventSink {
        long h = 0xcbf29ce484222325L;
        long n;

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            for (long v : new long[] {type.id(), timeNs, a, b, c}) {
                h ^= v;
                h *= 0x100000001b3L;
            }
            n++;
        }
    }

    /** A guest of its own, outside any run, with the default knobs and fresh checkers (for tests of one part). */
    static SimGuest guest(RamLayout layout, GuestFeatures features) {
        SimCosts costs = new SimCosts(CostProfile.defaults(), 0);
        return new SimGuest(new SimGuest.Setup(
                layout, features, false, costs, new SimCheckers(layout, features.poisonByte()), SimOptions.DEFAULTS));
    }

    static RunReport run(Scenario s) {
        return new SimRun(s).run();
    }

    static RunReport run(Scenario s, SimRun.Hooks hooks) {
        return new SimRun(s, RamLayout.pcLike(s.guestMemBytes()), hooks, EventSink.NONE, Backend.Progress.NONE).run();
    }
}
