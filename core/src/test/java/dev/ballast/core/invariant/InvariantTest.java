package dev.ballast.core.invariant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class InvariantTest {
    @Test
    void shouldNumberTheInvariantsFromOneWithoutGaps() {
        Invariant[] all = Invariant.values();
        for (int i = 0; i < all.length; i++) {
            assertThat(all[i].number()).isEqualTo(i + 1);
            assertThat(Invariant.ofNumber(i + 1)).isSameAs(all[i]);
        }
        assertThatThrownBy(() -> Invariant.ofNumber(0)).hasMessage("invariant 0: no such invariant");
        assertThatThrownBy(() -> Invariant.ofNumber(all.length + 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldWordAViolationAsEveryReportAndTestReadsIt() {
        assertThat(Invariant.NO_LOST_WRITE.violation("page ram-low+0x12 differs"))
                .isEqualTo("invariant 1 (no lost write): page ram-low+0x12 differs");
        assertThat(Invariant.POISON_PRESERVED.label()).isEqualTo("invariant 2 (poison preserved)");
        assertThat(Invariant.NO_NEEDLESS_RESEND.label()).isEqualTo("invariant 3 (no needless resend)");
        assertThat(Invariant.HINTS_NEVER_STALE.label()).isEqualTo("invariant 4 (hints are never stale)");
        assertThat(Invariant.EVERY_WRITER_TRACKED.label()).isEqualTo("invariant 5 (every writer is tracked)");
        assertThat(Invariant.FAILURE_LOSES_NOTHING.label()).isEqualTo("invariant 6 (failure loses nothing)");
        assertThat(Invariant.WIRE_NOT_TRUSTED.label()).isEqualTo("invariant 7 (nothing from the wire is trusted)");
    }

    @Test
    void shouldFindTheInvariantAReportNames() {
        for (Invariant i : Invariant.values())
            assertThat(Invariant.named(i.violation("x"))).isSameAs(i);
        assertThat(Invariant.named("the link failed")).isNull();
        assertThat(Invariant.named("invariant 9 (made up): x")).isNull();
        assertThat(Invariant.named(null)).isNull();
    }

    @Test
    void shouldDefineEachInOneLine() {
        for (Invariant i : Invariant.values())
            assertThat(i.definition()).isNotBlank().doesNotContain("\n");
    }
}
