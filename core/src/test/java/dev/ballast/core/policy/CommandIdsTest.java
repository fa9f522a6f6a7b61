package dev.ballast.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CommandIdsTest {
    @Test
    void shouldWrapFromTheLastIdToTheFirstNeverToStopOrDone() {
        assertThat(CommandIds.next(0x8000_0000L)).isEqualTo(0x8000_0001L);
        assertThat(CommandIds.next(0xFFFF_FFFEL)).isEqualTo(0xFFFF_FFFFL);
        assertThat(CommandIds.next(0xFFFF_FFFFL)).isEqualTo(0x8000_0000L);
        assertThat(CommandIds.isRequest(CommandIds.STOP)).isFalse();
        assertThat(CommandIds.isRequest(CommandIds.DONE)).isFalse();
        assertThat(CommandIds.isRequest(0x1_0000_0000L)).isFalse();
    }
}
