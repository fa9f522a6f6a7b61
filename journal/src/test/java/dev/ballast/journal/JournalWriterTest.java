package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventType;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalWriterTest {
    @TempDir
    Path tmp;

    @Test
    void shouldLoseNothingAndKeepEachProducersOrderWithManyProducers() throws Exception {
        int producers = 4;
        int perProducer = 250_000;
        Path dir = tmp.resolve("mp");
        JournalWriter.Settings settings =
                JournalWriter.Settings.defaults().withRingSize(1024).withMaxRecordsPerDocument(512);
        try (JournalWriter w = JournalWriter.create(dir, Map.of(), settings)) {
            CyclicBarrier start = new CyclicBarrier(producers);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int id = p;
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    for (int i = 0; i < perProducer; i++) {
                        w.publish(EventType.SEND_NORMAL, System.nanoTime(), id, i, i * 31L);
                    }
                });
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) t.join();
        }
        long[] next = new long[producers];
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.events()).isEqualTo((long) producers * perProducer);
            while (r.next()) {
                EventRecord e = r.record();
                int id = (int) e.a();
                assertThat(e.b())
                        .as("producer %d at event %d", id, r.eventNumber())
                        .isEqualTo(next[id]);
                assertThat(e.c()).isEqualTo(e.b() * 31);
                next[id]++;
            }
            r.verifyDigest();
        }
        assertThat(next).containsOnly(perProducer);
    }

    /**
     * A real guest's run publishes in bursts with idle gaps (its journal blocks while idle, see
     * {@code Runs.wait}): a blocking consumer must wake for each burst, write every event in order,
     * and close with every event counted.
     */
    @Test
    void shouldLoseNothingWithABlockingConsumerWokenByBurstsAfterIdleGaps() throws Exception {
        Path dir = tmp.resolve("blocking");
        int bursts = 20, perBurst = 50;
        try (JournalWriter w = JournalWriter.create(
                dir, Map.of(), JournalWriter.Settings.defaults().withWaitStrategy(JournalWriter.Wait.BLOCKING))) {
            for (int b = 0; b < bursts; b++) {
                for (int i = 0; i < perBurst; i++) w.publish(EventType.SEND_NORMAL, b, b, i, 0);
                long want = (long) (b + 1) * perBurst;
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (w.events() < want && System.nanoTime() < deadline) Thread.sleep(1);
                assertThat(w.events())
                        .as("written after burst %d, the consumer asleep before it", b)
                        .isEqualTo(want);
                Thread.sleep(5); // the consumer goes back to waiting
            }
        }
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.events()).isEqualTo((long) bursts * perBurst);
            long n = 0;
            while (r.next()) {
                EventRecord e = r.record();
                assertThat(e.a() * perBurst + e.b()).isEqualTo(n++);
            }
            r.verifyDigest();
        }
    }

    @Test
    void shouldNotAllocatePerPublishedEvent() throws Exception {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Path dir = tmp.resolve("alloc");
        int n = 1_000_000;
        try (JournalWriter w = JournalWriter.create(dir, Map.of())) {
            long tid = Thread.currentThread().threadId();
            publish(w, n); // warm up: JIT, ring, Chronicle mappings
            long consumerBefore = consumerAllocated(mx);
            long before = mx.getThreadAllocatedBytes(tid);
            publish(w, n);
            long producerBytes = mx.getThreadAllocatedBytes(tid) - before;
            while (w.events() < 2L * n) Thread.onSpinWait();
            long consumerBytes = consumerAllocated(mx) - consumerBefore;
            System.out.printf(
                    "allocation over %d publishes: producer %d bytes, consumer %d bytes%n",
                    n, producerBytes, consumerBytes);
            assertThat(producerBytes).as("bytes allocated by %d publishes", n).isLessThan(16 * 1024);
            // the consumer may allocate a little per 160 KiB document inside Chronicle, never per event
            assertThat(consumerBytes)
                    .as("bytes allocated by the consumer for %d events", n)
                    .isLessThan(64 * 1024);
        }
    }

    private static void publish(JournalWriter w, int n) {
        for (int i = 0; i < n; i++) {
            w.publish(EventType.DIRTY, i, 0, i, 1);
        }
    }

    private static long consumerAllocated(com.sun.management.ThreadMXBean mx) {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("ballast-journal-alloc")) return mx.getThreadAllocatedBytes(t.threadId());
        }
        throw new AssertionError("consumer thread not found");
    }

    @Test
    void shouldDropAndCountEventsPublishedAfterClose() {
        Path dir = tmp.resolve("late");
        JournalWriter w = JournalWriter.create(dir, Map.of());
        w.publish(EventType.STEP, 1, 1, 0, 0);
        w.close();
        w.close(); // idempotent
        w.publish(EventType.STEP, 2, 2, 0, 0);
        w.checkpoint(1, new byte[] {1});
        assertThat(w.droppedAfterClose()).isEqualTo(2);
        assertThat(w.events()).isEqualTo(1);
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.events()).isEqualTo(1);
            r.verifyDigest();
        }
    }

    @Test
    void shouldExposeTheDigestWhileWriting() {
        Path dir = tmp.resolve("live");
        JournalDigest expected = new JournalDigest();
        try (JournalWriter w = JournalWriter.create(dir, Map.of())) {
            for (int i = 0; i < 1000; i++) {
                w.publish(EventType.HINT, i, 0x80000000L, i * 8L, 8);
                expected.update(EventType.HINT.id(), i, 0x80000000L, i * 8L, 8);
            }
            while (w.events() < 1000) Thread.onSpinWait();
            assertThat(w.digest()).isEqualTo(expected.value());
        }
    }

    @Test
    void shouldRejectACheckpointOutOfPlaceWithoutLosingTheJournal() {
        Path dir = tmp.resolve("cp");
        JournalWriter w = JournalWriter.create(dir, Map.of());
        w.publish(EventType.STEP, 1, 1, 0, 0);
        w.checkpoint(5, new byte[] {1});
        assertThatThrownBy(w::close)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("checkpoint for event 5 was published after 1 events");
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.cutShort()).isFalse();
            assertThat(r.lastCheckpointAtOrBefore(10)).isNull();
        }
    }

    @Test
    void shouldValidateSettings() {
        assertThatThrownBy(() -> JournalWriter.Settings.defaults().withRingSize(1000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ringSize=1000");
        assertThatThrownBy(() -> JournalWriter.Settings.defaults().withMaxRecordsPerDocument(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxRecordsPerDocument=0");
    }
}
