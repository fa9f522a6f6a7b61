package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.invariant.Invariant;
import org.junit.jupiter.api.Test;

class ViolationsTest {
    @Test
    void shouldKeepTheFirstWordForWordAndCountEveryOne() {
        Violations v = new Violations();
        assertThat(v.any()).isFalse();
        assertThat(v.first()).isNull();
        assertThat(v.firstInvariant()).isNull();
        v.record(Invariant.NO_NEEDLESS_RESEND, "page a");
        for (int i = 0; i < 99; i++) v.record(Invariant.NO_LOST_WRITE, "page " + i);
        assertThat(v.any()).isTrue();
        assertThat(v.count()).isEqualTo(100);
        assertThat(v.first()).isEqualTo("invariant 3 (no needless resend): page a");
        assertThat(v.firstInvariant()).isEqualTo(Invariant.NO_NEEDLESS_RESEND);
        assertThat(v.all())
                .hasSize(Violations.KEPT)
                .startsWith("invariant 3 (no needless resend): page a", "invariant 1 (no lost write): page 0");
    }
}
