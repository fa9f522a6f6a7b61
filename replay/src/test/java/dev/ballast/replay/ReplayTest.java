package dev.ballast.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimRun;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;

class ReplayTest {
    private static final long M = 1L << 20;

    /** Records a run's events in memory. */
    static final class Recording implements EventSink {
        final List<long[]> events = new ArrayList<>();

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            events.add(new long[] {type.id(), timeNs, a, b, c});
        }

        EventStream stream() {
            int[] i = {0};
            return into -> {
                if (i[0] >= events.size()) return false;
                long[] e = events.get(i[0]);
                into.set(i[0]++, EventType.byId((int) e[0]), e[1], e[2], e[3], e[4]);
                return true;
            };
        }
    }

    static Recording record(Scenario s) {
        Recording r = new Recording();
        new SimRun(s, s.layout(), SimRun.Hooks.NONE, r, Backend.Progress.NONE).run();
        return r;
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> everyWorkloadAndPolicy() {
        return java.util.stream.Stream.of("idle", "memhog", "compile", "random-write", "balloon:25", "deflate-race")
                .flatMap(w -> java.util.stream.Stream.of("legacy", "balloon", "hint", "bitmap", "hint+balloon")
                        .map(p -> org.junit.jupiter.params.provider.Arguments.of(w, p)));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"legacy", "hint"})
    void shouldReproduceEveryDecisionOfASenderWhoseCapIsLiftedForTheStop(String policy) {
        // QEMU's sender: 200 MB/s in live passes, none in the stop-and-copy
        Scenario s = Scenario.sim(
                        256 * M,
                        "memhog,init-on-alloc=1,dirty-log=sync,sync-before-stop=1,stop-uncapped=1,os=16M",
                        policy,
                        5)
                .withLimits(200_000_000L, 2_000_000_000L, 30, 0);
        Recording rec = record(s);
        assertThat(RunManifest.of(s).engine().uncappedStop()).isTrue();
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"legacy", "hint"})
    void shouldReproduceEveryDecisionOfAHostThatSyncsBeforeItStops(String policy) {
        // the QEMU-like host at a bandwidth where the rest fits mid-pass, so the engine syncs there
        Scenario s = Scenario.sim(256 * M, "memhog,init-on-alloc=1,dirty-log=sync,sync-before-stop=1,os=16M", policy, 5)
                .withLimits(200_000_000L, 2_000_000_000L, 30, 0);
        Recording rec = record(s);
        assertThat(RunManifest.of(s).engine().syncBeforeStop()).isTrue();
        long syncsMidPass = 0;
        boolean inPass = false;
        for (long[] e : rec.events) {
            EventType t = EventType.byId((int) e[0]);
            if (t == EventType.PHASE)
                inPass = e[2] == dev.ballast.core.engine.Phase.BULK.ordinal()
                        || e[2] == dev.ballast.core.engine.Phase.ITERATE.ordinal();
            if (t == EventType.ITERATION_END) inPass = false;
            if (t == EventType.SYNC_BEGIN && inPass) syncsMidPass++;
        }
        assertThat(syncsMidPass).as("syncs inside a live pass").isPositive();
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("everyWorkloadAndPolicy")
    void shouldReproduceEveryDecision(String workload, String policy) {
        Scenario s = Scenario.sim(256 * M, workload, policy, 5);
        Recording rec = record(s);
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNull();
        assertThat(r.truncated()).isFalse();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations()).isEqualTo(1);
    }

    /**
     * A journal written before the switch-over estimate counted the final sync has no {@code countFinalSync} in its
     * header: read back, that means the old rule, and every decision is re-made as that journal has it, while the
     * current rule would decide otherwise on the same inputs.
     */
    @Test
    void shouldReplayAJournalOfTheOldSwitchOverRuleWithThatRule() {
        Scenario s = Scenario.sim(256 * M, "random-write", "legacy", 5);
        Recording rec = new Recording();
        new SimRun(s, s.layout(), SimRun.Hooks.NONE, rec, Backend.Progress.NONE)
                .withOldSwitchoverRule()
                .run();
        assertThat(rec.events).noneMatch(e -> e[0] == EventType.DOWNTIME_ESTIMATE.id());

        java.util.Map<String, String> header =
                new java.util.LinkedHashMap<>(RunManifest.of(s).toMetadata());
        String engine = header.get(RunManifest.KEY_ENGINE);
        assertThat(engine).contains(",countFinalSync=true");
        header.put(RunManifest.KEY_ENGINE, engine.replace(",countFinalSync=true", "")); // as the old code wrote it
        RunManifest old = RunManifest.fromMetadata(header);
        assertThat(old.engine().countFinalSync()).isFalse();

        Replay.Result r = Replay.run(old, rec.stream());
        assertThat(r.divergence()).isNull();
        assertThat(r.events()).isEqualTo(rec.events.size());
        // the current rule does not re-make these decisions: the rule is what the header says, not what the code
        // prefers
        assertThat(Replay.run(RunManifest.of(s), rec.stream()).divergence()).isNotNull();
    }

    @Test
    void shouldReplayRetriesAndChainsAsSeparateMigrations() {
        Scenario s = Scenario.sim(512 * M, "random-write", "hint", 8)
                .withFailAt("30%")
                .withChain(3);
        Recording rec = record(s);
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.ok()).as(String.valueOf(r.divergence())).isTrue();
        assertThat(r.migrations()).isEqualTo(6); // each hop fails once, then its retry completes
    }

    @Test
    void shouldReplayPoisonAndAGuestWithoutMustTellHost() {
        Scenario s =
                Scenario.sim(512 * M, "deflate-race", "hint+balloon", 8).withGuest(0x5A, false, "bitmap", 0xFFFF_FFF0L);
        Recording rec = record(s);
        assertThat(Replay.run(RunManifest.of(s), rec.stream()).ok()).isTrue();
    }

    /**
     * The guest's own events (its reports, the host's discards, its shrinker, stalls and resident memory) are in the
     * recording, before, between and during the migrations: the replay re-makes every decision past them.
     */
    @Test
    void shouldReplayARunWithFreePageReportingAndMemoryPressureExactly() {
        Scenario s = Scenario.sim(
                        256 * M, "memhog,reporting=1,pressure=60%,hint-driver=linux-acked,deflate-on-oom=1", "hint", 3)
                .withLimits(500_000_000L, 50_000_000L, 8, 0)
                .withFailAt("30%")
                .withChain(2);
        Recording rec = record(s);
        for (EventType t : new EventType[] {
            EventType.REPORT, EventType.HOST_DISCARD, EventType.REPORT_DONE, EventType.SHRINK, EventType.RESIDENT
        }) {
            assertThat(rec.events).as(t.name()).anyMatch(e -> e[0] == t.id());
        }
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNull();
        assertThat(r.truncated()).isFalse();
        assertThat(r.events()).isEqualTo(rec.events.size());
        assertThat(r.migrations()).isEqualTo(4); // each hop fails once, then its retry completes
    }

    @Test
    void shouldReportTheFirstAlteredEvent() {
        Scenario s = Scenario.sim(256 * M, "idle", "hint", 5);
        Recording rec = record(s);
        int victim = -1;
        for (int i = 0; i < rec.events.size(); i++) {
            if (rec.events.get(i)[0] == EventType.SEND_NORMAL.id()) {
                victim = i;
                break;
            }
        }
        rec.events.get(victim)[4] += 1; // one more page than was sent
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNotNull();
        assertThat(r.divergence().eventNumber()).isEqualTo(victim);
        assertThat(r.divergence().expected()).startsWith("SEND_NORMAL");
    }

    @Test
    void shouldReportAnAlteredInputWhereTheDecisionsPart() {
        Scenario s = Scenario.sim(256 * M, "idle", "hint", 5);
        Recording rec = record(s);
        // a hint that claims other pages: the engine then skips different pages than recorded
        int hint = -1;
        for (int i = 0; i < rec.events.size(); i++) {
            if (rec.events.get(i)[0] == EventType.HINT.id()) {
                hint = i;
                break;
            }
        }
        rec.events.get(hint)[3] += 1024;
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.divergence()).isNotNull();
        assertThat(r.divergence().eventNumber()).isGreaterThan(hint);
    }

    @Test
    void shouldSayWhenTheRecordingIsCutShort() {
        Scenario s = Scenario.sim(256 * M, "compile", "legacy", 5);
        Recording rec = record(s);
        int keep = rec.events.size() / 2;
        rec.events.subList(keep, rec.events.size()).clear();
        Replay.Result r = Replay.run(RunManifest.of(s), rec.stream());
        assertThat(r.truncated()).isTrue();
        assertThat(r.ok()).isTrue();
        assertThat(r.events()).isLessThanOrEqualTo(keep);
    }
}
