package dev.ballast.kvm.guestabi;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The host's ring on its own: a producer and a consumer over the same memory, as host and guest. */
class RingTest {
    @Test
    void shouldDeliverEntriesInOrderAcrossWrapAroundAndRefuseWhenFull() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(GuestAbi.RING_BYTES, 64);
            Ring.format(mem);
            Ring producer = new Ring(mem);
            Ring consumer = new Ring(mem);
            long next = 1;
            long expected = 1;
            for (int round = 0; round < 5; round++) {
                while (producer.offer(GuestAbi.OP_NOP, next, new long[] {next * 3}) >= 0) {
                    next++;
                }
                assertThat(producer.size()).isEqualTo(GuestAbi.RING_CAPACITY);
                for (int i = 0; i < 100; i++) {
                    Reply r = consumer.poll();
                    assertThat(r.id()).isEqualTo(expected);
                    assertThat(r.arg(0)).isEqualTo(expected * 3);
                    expected++;
                }
            }
            assertThat(producer.lastPostedId()).isEqualTo(next - 1);
        }
    }

    @Test
    void shouldRejectATailRunningAheadOfTheCapacity() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mem = arena.allocate(GuestAbi.RING_BYTES, 64);
            Ring.format(mem);
            mem.set(JAVA_INT, GuestAbi.RING_TAIL_OFF, GuestAbi.RING_CAPACITY + 1);
            assertThatThrownBy(() -> new Ring(mem).poll()).hasMessageContaining("ring corrupt");
        }
    }
}
