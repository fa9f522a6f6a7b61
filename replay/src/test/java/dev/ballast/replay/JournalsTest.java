package dev.ballast.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.Scenario;
import dev.ballast.journal.JournalReader;
import dev.ballast.journal.JournalWriter;
import dev.ballast.journal.StateTracker;
import dev.ballast.sim.SimRun;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalsTest {
    @TempDir
    Path tmp;

    private Path record(String name, Scenario s) {
        Path dir = tmp.resolve(name);
        try (JournalRecorder rec = new JournalRecorder(dir, RunManifest.of(s), Map.of("createdAt", name))) {
            new SimRun(s, s.layout(), SimRun.Hooks.NONE, rec, Backend.Progress.NONE).run();
        }
        return dir;
    }

    private static long digest(Path dir) {
        try (JournalReader r = JournalReader.open(dir)) {
            return r.verifyDigest();
        }
    }

    @Test
    void shouldWriteTheSameEventsForTheSameSeed() {
        Scenario s =
                Scenario.sim(512L << 20, "deflate-race", "hint+balloon", 11).withFailAt("40%");
        long a = digest(record("a", s));
        long b = digest(record("b", s));
        long c = digest(record("c", s.withSeed(12)));
        assertThat(a).isEqualTo(b);
        assertThat(c).isNotEqualTo(a);
    }

    @Test
    void shouldFindTheStateAtAnyEventThroughCheckpoints() {
        // enough events for several checkpoints
        Scenario s = Scenario.sim(2L << 30, "random-write,rate=2GiB/s,used=80%", "legacy", 3)
                .withLimits(10_000_000_000L, 1, 30, 0);
        Path dir = record("big", s);
        long events;
        try (JournalReader r = JournalReader.open(dir)) {
            events = r.events();
            assertThat(r.lastCheckpointAtOrBefore(events - 1)).isNotNull();
        }
        assertThat(events).isGreaterThan(3 * JournalRecorder.CHECKPOINT_EVERY);
        // the state found through a checkpoint equals the state read from the start
        RunManifest m = RunManifest.of(s);
        for (long n : new long[] {
            0, JournalRecorder.CHECKPOINT_EVERY - 1, JournalRecorder.CHECKPOINT_EVERY, events / 2 + 17, events - 1
        }) {
            RunState slow = new RunState(m);
            try (JournalReader r = JournalReader.open(dir)) {
                EventStream es = JournalQueries.stream(r);
                Event e = new Event();
                while (es.next(e)) {
                    slow.apply(e);
                    if (e.number == n) break;
                }
            }
            assertThat(JournalQueries.stateAt(dir, n).describe())
                    .as("event %d", n)
                    .isEqualTo(slow.describe());
        }
    }

    /** Checkpoints as journals written before the fold kept its own bookkeeping stored them: version 2, 18 longs, the pages to send. */
    private static byte[] formerCheckpoint(long eventNumber) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(2);
            out.writeLong(eventNumber);
            for (int i = 1; i < 18; i++) out.writeLong(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    @Test
    void shouldFindTheStateAtAnEventOfAJournalWithCheckpointsOfTheFormerFormat() {
        Scenario s = Scenario.sim(256L << 20, "compile", "hint", 4);
        RunManifest m = RunManifest.of(s);
        Path dir = tmp.resolve("former");
        StateTracker former = new StateTracker() {
            long last = -1;

            @Override
            public void onEvent(long number, EventType type, long timeNs, long a, long b, long c) {
                last = number;
            }

            @Override
            public byte[] checkpoint() {
                return formerCheckpoint(last);
            }

            @Override
            public long interval() {
                return 1024;
            }
        };
        try (JournalWriter w = JournalWriter.create(
                dir, m.toMetadata(), JournalWriter.Settings.defaults().withTracker(former))) {
            new SimRun(s, s.layout(), SimRun.Hooks.NONE, w, Backend.Progress.NONE).run();
        }
        long n;
        try (JournalReader r = JournalReader.open(dir)) {
            n = r.events() - 5;
            assertThat(r.lastCheckpointAtOrBefore(n)).isNotNull();
        }
        RunState slow = new RunState(m);
        try (JournalReader r = JournalReader.open(dir)) {
            EventStream es = JournalQueries.stream(r);
            Event e = new Event();
            while (es.next(e)) {
                slow.apply(e);
                if (e.number == n) break;
            }
        }
        assertThat(JournalQueries.stateAt(dir, n).describe()).isEqualTo(slow.describe());
    }
}
