package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FailPointTest {
    @ParameterizedTest
    @ValueSource(strings = {"40%", "12.5%", "0%", "250ms", "2s", "50us", "random"})
    void shouldPrintAsTheUserWroteIt(String text) {
        assertThat(FailPoint.parse(text)).hasToString(text);
    }

    @Test
    void shouldFailAfterAShareOfTheGuestsPagesOrAtATimeAfterTheAttemptStarted() {
        SplittableRandom unused = new SplittableRandom(1);
        assertThat(FailPoint.parse("40%").failAfterPages(1000, unused)).isEqualTo(400);
        assertThat(FailPoint.parse("40%").failAtNs(5)).isEqualTo(-1);
        assertThat(FailPoint.parse("250ms").failAfterPages(1000, unused)).isEqualTo(-1);
        assertThat(FailPoint.parse("250ms").failAtNs(5)).isEqualTo(250_000_005L);
    }

    @Test
    void shouldDrawARandomPointBetween5And95PercentFromTheGivenRandomOnly() {
        SplittableRandom a = new SplittableRandom(42);
        SplittableRandom b = new SplittableRandom(42);
        long pages = FailPoint.atRandom().failAfterPages(1_000_000, a);
        assertThat(pages).isBetween(50_000L, 950_000L).isEqualTo((long) (1_000_000 * (0.05 + 0.9 * b.nextDouble())));
        assertThat(FailPoint.atRandom().failAtNs(0)).isEqualTo(-1);
    }

    @Test
    void shouldRefuseWithASettingExceptionNamingFailAt() {
        assertThatThrownBy(() -> FailPoint.parse("soon")).isInstanceOfSatisfying(SettingException.class, e -> {
            assertThat(e.name()).isEqualTo("fail-at");
            assertThat(e.value()).isEqualTo("soon");
            assertThat(e.rule()).startsWith("expected a percentage of the guest's pages");
        });
    }
}
