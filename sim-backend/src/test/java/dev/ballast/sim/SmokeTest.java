package dev.ballast.sim;

import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void smoke() {
        for (String w : new String[] {"idle", "memhog", "compile", "random-write", "balloon:25", "deflate-race"}) {
            for (String p : new String[] {"legacy", "balloon", "hint", "bitmap", "hint+balloon"}) {
                long t0 = System.nanoTime();
                RunReport r = new SimRun(Scenario.sim(8L << 30, w, p, 1)).run();
                System.out.printf("%-14s %-13s total=%8.1fms down=%7.1fms it=%2d bytes=%6dMB normal=%8d zero=%8d sb=%8d sf=%8d resent=%6d hints=%s verify=%s wall=%dms%n",
                        w, p, r.totalTimeMs(), r.downtimeMs(), r.iterations(), r.transferredBytes() >> 20, r.pages().normal(), r.pages().zero(),
                        r.pages().skippedBalloon(), r.pages().skippedFree(), r.pages().resent(), r.hints(), r.verify(), (System.nanoTime() - t0) / 1_000_000);
            }
        }
    }
}
