package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestQueueTest {
    private final List<String> seen = new ArrayList<>();

    private int drain(RequestQueue q, int max, long nowNs) {
        return q.drain((type, a, b, c) -> seen.add(type + " " + a + " " + b + " " + c), max, nowNs);
    }

    @Test
    void shouldHandOutRequestsOldestFirstOnceTheyHaveArrived() {
        RequestQueue q = new RequestQueue();
        q.add(EventType.HINT, 0x8000_0000L, 100, 8, 3, 1_000);
        q.add(EventType.HINT, 0x8000_0000L, 200, 8, 4, 2_000);
        assertThat(drain(q, 10, 999)).isZero();
        assertThat(drain(q, 10, 1_500)).isEqualTo(1);
        assertThat(q.lastEpoch()).isEqualTo(3);
        assertThat(drain(q, 10, 2_000)).isEqualTo(1);
        assertThat(q.lastEpoch()).isEqualTo(4);
        assertThat(seen).containsExactly("HINT 2147483648 100 8", "HINT 2147483648 200 8");
        assertThat(q.size()).isZero();
    }

    @Test
    void shouldHoldALaterRequestBehindOneStillInFlight() {
        RequestQueue q = new RequestQueue();
        q.add(EventType.HINT, 1, 1, 1, 0, 5_000);
        q.add(EventType.BALLOON_INFLATE, 0, 2, 1, 0); // ready at once, but behind the hint
        assertThat(drain(q, 10, 0)).isZero();
        assertThat(drain(q, 10, 5_000)).isEqualTo(2);
    }

    @Test
    void shouldGiveNoMoreThanAskedAndKeepOrderAcrossGrowth() {
        RequestQueue q = new RequestQueue();
        for (int i = 0; i < 1000; i++) q.add(EventType.BALLOON_DEFLATE, 0, i, 1, 0);
        assertThat(drain(q, 300, 0)).isEqualTo(300);
        for (int i = 1000; i < 1500; i++) q.add(EventType.BALLOON_DEFLATE, 0, i, 1, 0);
        assertThat(drain(q, Integer.MAX_VALUE, 0)).isEqualTo(1200);
        assertThat(seen).hasSize(1500);
        for (int i = 0; i < 1500; i++) assertThat(seen.get(i)).isEqualTo("BALLOON_DEFLATE 0 " + i + " 1");
    }
}
