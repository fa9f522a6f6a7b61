package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.mem.RamLayout;
import org.junit.jupiter.api.Test;

class SimDestinationTest {
    @Test
    void shouldGiveAFreshDestinationZerosAndNothingReceived() {
        SimDestination d = new SimDestination(RamLayout.pcLike(5L << 30));
        assertThat(d.read(0, 0)).isZero();
        assertThat(d.read(1, (2L << 30) / 4096 - 1)).isZero();
        assertThat(d.received.count()).isZero();
        assertThat(d.balloon.count()).isZero();
    }
}
