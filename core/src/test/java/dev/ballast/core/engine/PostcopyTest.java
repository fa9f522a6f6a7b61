package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.Convergence.Decision;
import dev.ballast.core.run.SettingException;
import org.junit.jupiter.api.Test;

class PostcopyTest {
    @Test
    void shouldParseAPassNumberAutoAndOff() {
        assertThat(Postcopy.parse("3")).isEqualTo(new Postcopy(Postcopy.Mode.AFTER, 3, false));
        assertThat(Postcopy.parse("auto")).isEqualTo(new Postcopy(Postcopy.Mode.AUTO, 0, false));
        assertThat(Postcopy.parse("off")).isEqualTo(Postcopy.OFF);
        assertThat(Postcopy.parse("off").enabled()).isFalse();
    }

    @Test
    void shouldRefuseWhatIsNoPassNumberWithTheSettingsName() {
        for (String bad : new String[] {"0", "-1", "x", "", "2.5", "1000001"}) {
            assertThatThrownBy(() -> Postcopy.parse(bad))
                    .isInstanceOf(SettingException.class)
                    .satisfies(e -> assertThat(((SettingException) e).name()).isEqualTo("postcopy-after"));
        }
    }

    @Test
    void shouldTakeEveryPassNumberUpToTheMostAndOnlyWithTheModeAfter() {
        assertThat(Postcopy.parse("1000000").afterPasses()).isEqualTo(Postcopy.MAX_PASSES);
        assertThat(new Postcopy(Postcopy.Mode.AFTER, 1, false).afterPasses()).isEqualTo(1);
        for (Postcopy.Mode m : Postcopy.Mode.values()) {
            for (int n : m == Postcopy.Mode.AFTER ? new int[] {0, Postcopy.MAX_PASSES + 1} : new int[] {1, -1}) {
                assertThatThrownBy(() -> new Postcopy(m, n, false))
                        .as("%s %d", m, n)
                        .isInstanceOf(SettingException.class);
            }
        }
    }

    @Test
    void shouldRefuseHintsWithoutPostcopy() {
        assertThatThrownBy(() -> Postcopy.OFF.withHints(true))
                .isInstanceOf(SettingException.class)
                .satisfies(e -> assertThat(((SettingException) e).name()).isEqualTo("postcopy-hints"));
    }

    @Test
    void shouldWriteAndReadItselfForTheJournalHeader() {
        for (Postcopy p : new Postcopy[] {
            Postcopy.OFF,
            Postcopy.parse("1"),
            Postcopy.parse("auto").withHints(true),
            Postcopy.parse("7").withHints(true)
        }) {
            assertThat(Postcopy.fromString(p.toString())).isEqualTo(p);
        }
    }

    @Test
    void shouldNeverSwitchWhenOffOrWherePreCopyConverged() {
        assertThat(Postcopy.OFF.shouldSwitch(Decision.ITERATION_CAP, 9, 100, 100))
                .isFalse();
        assertThat(Postcopy.parse("1").shouldSwitch(Decision.CONVERGED, 5, 100, 100))
                .isFalse();
        assertThat(Postcopy.parse("auto").shouldSwitch(Decision.CONVERGED, 5, 100, 100))
                .isFalse();
    }

    @Test
    void shouldSwitchAfterTheGivenPassOrWhereACapEndsPreCopyFirst() {
        Postcopy after3 = Postcopy.parse("3");
        assertThat(after3.shouldSwitch(Decision.CONTINUE, 2, 100, 200)).isFalse();
        assertThat(after3.shouldSwitch(Decision.CONTINUE, 3, 100, 200)).isTrue();
        assertThat(after3.shouldSwitch(Decision.TIME_CAP, 1, 100, -1)).isTrue();
        assertThat(after3.shouldSwitch(Decision.ITERATION_CAP, 2, 100, 200)).isTrue();
    }

    @Test
    void shouldSwitchAutomaticallyWhenAPassCutsTheRestByLessThanATenth() {
        Postcopy auto = Postcopy.parse("auto");
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 1, 1000, -1))
                .as("the bulk stage: nothing to compare")
                .isFalse();
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 2, 899, 1000))
                .as("down by more than a tenth")
                .isFalse();
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 2, 901, 1000))
                .as("down by less than a tenth")
                .isTrue();
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 4, 1200, 1000))
                .as("growing")
                .isTrue();
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 2, 900, 1000))
                .as("down by exactly a tenth")
                .isFalse();
        assertThat(auto.shouldSwitch(Decision.CONTINUE, 2, 1200, 1000))
                .as("growing at the second pass")
                .isTrue();
        assertThat(auto.shouldSwitch(Decision.ITERATION_CAP, 1, 10, -1))
                .as("a cap would force stop-and-copy")
                .isTrue();
    }
}
