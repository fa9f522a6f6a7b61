package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.G;
import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import org.junit.jupiter.api.Test;

/** The simulated guest: its device's command ids over several migrations, and requests a misbehaving guest sends. */
class SimGuestTest {
    @Test
    void shouldNotReuseACommandIdOfAnEarlierMigration() {
        // each migration of one guest (the retry after a failure, the next hop) goes on from the
        // device's last command id: a report still in flight from the failed attempt is stale
        Scenario s =
                Scenario.sim(512 * M, "compile", "hint", 4).withFailAt("20%").withChain(2);
        java.util.List<Long> ids = new java.util.ArrayList<>();
        RunReport r = new SimRun(
                        s,
                        s.layout(),
                        SimRun.Hooks.NONE,
                        (type, t, a, b, c) -> {
                            if (type == EventType.HINT_COMMAND && a >= Scenario.MIN_COMMAND_ID) ids.add(a);
                        },
                        Backend.Progress.NONE)
                .run();
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        assertThat(ids).hasSizeGreaterThan(3).doesNotHaveDuplicates();
    }

    @Test
    void shouldRejectBadGuestRequestsAndGoOnSafely() {
        Scenario s = Scenario.sim(4 * G, "idle", "hint+balloon", 17);
        RunReport r = run(s, SimRun.Hooks.NONE.withGuest(setup -> new SimGuest(setup) {
            @Override
            public void hintCommand(long id) {
                super.hintCommand(id);
                if (id >= 0x8000_0000L) {
                    injectRequest(EventType.HINT, id, (3L << 30) / 4096, 100); // in the hole
                    injectRequest(EventType.HINT, id, 1L << 40, 100); // far past the end
                    injectRequest(EventType.HINT, id - 1, 0, 1000); // stale id
                    injectRequest(EventType.HINT, id, 0, -5); // negative length
                    injectRequest(
                            EventType.BALLOON_INFLATE,
                            EventType.Balloon.PFNS,
                            (5L << 30) / 4096,
                            1); // past the end of RAM
                    injectRequest(EventType.REJECT, 3, 0, 0); // garbage in a ring
                }
            }
        }));
        assertThat(r.hints().rejected()).isEqualTo(4);
        assertThat(r.balloon().rejected()).isEqualTo(1);
        assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
    }
}
