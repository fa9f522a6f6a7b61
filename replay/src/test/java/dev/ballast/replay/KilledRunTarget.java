package dev.ballast.replay;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimRun;
import java.nio.file.Path;
import java.util.Map;

/** A child JVM for {@link KilledRunTest}: migrates a simulated guest into a journal until it is killed. */
public final class KilledRunTarget {
    private KilledRunTarget() {}

    public static void main(String[] args) {
        Scenario s = Scenario.sim(8L << 30, "random-write,rate=2GiB/s,used=80%", "hint", 3)
                .withLimits(10_000_000_000L, 1, 1000, 0);
        JournalRecorder rec = new JournalRecorder(Path.of(args[0]), RunManifest.of(s), Map.of("purpose", "kill test"));
        long[] n = {0};
        new SimRun(
                        s,
                        s.layout(),
                        SimRun.Hooks.NONE,
                        (EventType type, long t, long a, long b, long c) -> {
                            rec.publish(type, t, a, b, c);
                            if (++n[0] % 100_000 == 0) System.out.println("PUBLISHED " + n[0]);
                        },
                        Backend.Progress.NONE)
                .run();
        rec.close();
        System.out.println("FINISHED");
    }
}
