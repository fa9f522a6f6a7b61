package dev.ballast.core.invariant;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.EngineConfig;
import org.junit.jupiter.api.Test;

class FaultBoundTest {
    /** 64 pages and 2 requests a step, 96-byte page headers: a page is 4192 bytes on the wire. */
    private static final EngineConfig CFG = new EngineConfig(1, 1, 1, 0, 0x80000000L, 64, 2, 96);

    @Test
    void shouldAllowTheBaseAndTheStepsARequestWaitsThroughOnTheLink() {
        // 1 ns a byte: a page 4192 ns, a step (64 pages + 2 requests) 276,672 ns
        FaultBound b = FaultBound.of(250_000_000L, 1.0, CFG);
        assertThat(b.stepNs()).isEqualTo(276_672L);
        // the step in flight and the one that serves it
        assertThat(b.allowedNs(0)).isEqualTo(250_000_000L + 2 * 276_672L);
        assertThat(b.allowedNs(1)).isEqualTo(250_000_000L + 2 * 276_672L);
        // two queued before it fill a step of their own
        assertThat(b.allowedNs(2)).isEqualTo(250_000_000L + 3 * 276_672L);
        assertThat(b.allowedNs(3)).isEqualTo(250_000_000L + 3 * 276_672L);
    }

    @Test
    void shouldAllowOnlyTheBaseOnALinkWithoutALimit() {
        assertThat(FaultBound.of(2_000_000_000L, 0, CFG).allowedNs(1_000_000)).isEqualTo(2_000_000_000L);
    }
}
