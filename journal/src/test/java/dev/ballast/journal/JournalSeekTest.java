package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventType;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Seeking and checkpoints over a journal of many documents (event i has a = i). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JournalSeekTest {
    static final int EVENTS = 500_000;
    static final int CHECKPOINT_EVERY = 10_007;

    @TempDir
    static Path tmp;

    Path dir;

    @BeforeAll
    void writeJournal() {
        dir = tmp.resolve("seek");
        // small documents so there are thousands to search
        JournalWriter.Settings settings = JournalWriter.Settings.defaults().withMaxRecordsPerDocument(97);
        try (JournalWriter w = JournalWriter.create(dir, Map.of(), settings)) {
            for (int i = 0; i < EVENTS; i++) {
                if (i > 0 && i % CHECKPOINT_EVERY == 0) {
                    while (w.events() < i) Thread.onSpinWait();
                    w.checkpoint(i, ("state@" + i).getBytes());
                }
                w.publish(EventType.GUEST_WRITE, i * 10L, i, i >> 3, i & 7);
            }
        }
    }

    @Test
    void shouldSeekToRandomEventsAndReadOnFromThere() {
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        try (JournalReader r = JournalReader.open(dir)) {
            for (int k = 0; k < 2000; k++) {
                long n = random.nextInt(EVENTS);
                r.seek(n);
                assertThat(r.position()).isEqualTo(n);
                for (int j = 0; j < 3 && n + j < EVENTS; j++) {
                    assertThat(r.next()).as("seed %d, seek %d", seed, n).isTrue();
                    assertThat(r.eventNumber()).isEqualTo(n + j);
                    assertThat(r.record().a()).as("seed %d, seek %d", seed, n).isEqualTo(n + j);
                }
            }
        }
    }

    @Test
    void shouldSeekToTheEdges() {
        try (JournalReader r = JournalReader.open(dir)) {
            r.seek(EVENTS - 1);
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isEqualTo(EVENTS - 1);
            assertThat(r.next()).isFalse();
            r.seek(EVENTS);
            assertThat(r.next()).isFalse();
            r.seek(0);
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isZero();
            assertThatThrownBy(() -> r.seek(EVENTS + 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("outside the journal (it holds " + EVENTS + " events)");
            assertThatThrownBy(() -> r.seek(-1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void shouldSeekWithoutReadingFromTheStart() {
        try (JournalReader r = JournalReader.open(dir)) {
            r.seek(EVENTS / 2); // warm up
            long t0 = System.nanoTime();
            for (int i = 0; i < 200; i++) r.seek(i * 2477L % EVENTS);
            long perSeekUs = (System.nanoTime() - t0) / 200 / 1000;
            // a full read of this journal takes far longer than a few hundred microseconds
            assertThat(perSeekUs).as("µs per seek").isLessThan(5_000);
        }
    }

    @Test
    void shouldFindTheLastCheckpointAtOrBeforeAnEvent() {
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.lastCheckpointAtOrBefore(0)).isNull();
            assertThat(r.lastCheckpointAtOrBefore(CHECKPOINT_EVERY - 1)).isNull();
            Random random = new Random(7);
            for (int k = 0; k < 300; k++) {
                long n = random.nextInt(EVENTS + 10);
                long expected = n / CHECKPOINT_EVERY * CHECKPOINT_EVERY;
                expected = Math.min(expected, (EVENTS - 1) / CHECKPOINT_EVERY * CHECKPOINT_EVERY);
                Checkpoint cp = r.lastCheckpointAtOrBefore(n);
                if (expected == 0) {
                    assertThat(cp).isNull();
                } else {
                    assertThat(cp.eventNumber()).as("checkpoint for %d", n).isEqualTo(expected);
                    assertThat(new String(cp.payload())).isEqualTo("state@" + expected);
                }
            }
            Checkpoint exact = r.lastCheckpointAtOrBefore(3L * CHECKPOINT_EVERY);
            assertThat(exact.eventNumber()).isEqualTo(3L * CHECKPOINT_EVERY);
            // a replay resumes from the checkpoint: seek to it and read the event it belongs before
            r.seek(exact.eventNumber());
            assertThat(r.next()).isTrue();
            assertThat(r.record().a()).isEqualTo(exact.eventNumber());
        }
    }

    @Test
    void shouldKeepTheCursorWhileLookingUpCheckpoints() {
        try (JournalReader r = JournalReader.open(dir)) {
            r.seek(123_456);
            for (long n = 123_456; n < 123_456 + 500; n++) {
                assertThat(r.next()).isTrue();
                assertThat(r.record().a()).isEqualTo(n);
                if (n % 50 == 0) {
                    assertThat(r.lastCheckpointAtOrBefore(n * 3 % EVENTS)).isNotNull();
                    assertThat(r.record().a()).isEqualTo(n); // the flyweight still shows the cursor's record
                }
            }
        }
    }

    @Test
    void shouldHandRecordsToACallback() {
        try (JournalReader r = JournalReader.open(dir)) {
            r.seek(1000);
            long[] sum = new long[1];
            long n = r.read(
                    (number, record) -> {
                        assertThat(record.a()).isEqualTo(number);
                        sum[0] += record.a();
                    },
                    10);
            assertThat(n).isEqualTo(10);
            assertThat(sum[0]).isEqualTo(10 * 1000 + 45);
            assertThat(r.position()).isEqualTo(1010);
        }
    }
}
