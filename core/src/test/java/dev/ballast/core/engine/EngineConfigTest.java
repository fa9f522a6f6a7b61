package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/** The engine's settings: each accepts its smallest allowed value and refuses the one below, naming itself. */
class EngineConfigTest {
    private static final EngineConfig OK = EngineConfig.defaults();

    private static void edge(String name, long lowest, LongFunction<EngineConfig> make) {
        assertThat(make.apply(lowest)).as(name + "=" + lowest).isNotNull();
        assertThatThrownBy(() -> make.apply(lowest - 1))
                .as(name + "=" + (lowest - 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(name + "=" + (lowest - 1));
    }

    @Test
    void shouldAcceptEachSettingsLowestValueAndRefuseTheOneBelow() {
        edge("bandwidthBytesPerSec", 0, v -> OK.withLimits(v, OK.downtimeLimitNs(), OK.maxIterations(), 0));
        edge("downtimeLimitNs", 1, v -> OK.withLimits(0, v, OK.maxIterations(), 0));
        edge("maxIterations", 1, v -> OK.withLimits(0, OK.downtimeLimitNs(), (int) v, 0));
        edge("timeCapNs", 0, v -> OK.withLimits(0, OK.downtimeLimitNs(), OK.maxIterations(), v));
        edge("pagesPerStep", 64, v -> new EngineConfig(0, 1, 1, 0, 0x8000_0000L, (int) v, 1, 0));
        edge("requestsPerStep", 1, v -> new EngineConfig(0, 1, 1, 0, 0x8000_0000L, 64, (int) v, 0));
        edge("pageHeaderBytes", 0, v -> OK.withPageHeaderBytes((int) v));
    }

    @Test
    void shouldChangeOnlyTheSettingAWitherNames() {
        EngineConfig c = OK.withPageHeaderBytes(24);
        assertThat(c.pageHeaderBytes()).isEqualTo(24);
        assertThat(c.withPageHeaderBytes(OK.pageHeaderBytes())).isEqualTo(OK);
        assertThat(OK.withFirstCommandId(0x9000_0000L).withFirstCommandId(OK.firstCommandId()))
                .isEqualTo(OK);
        assertThat(OK.withCountFinalSync(false).countFinalSync()).isFalse();
        assertThat(OK.countFinalSync()).isTrue();
    }

    @Test
    void shouldTakeTimeThatWasNotMigratingOutOfTheTotalAndTheDowntimeOnly() {
        EngineStats s = new EngineStats(
                Phase.COMPLETED,
                3,
                4,
                100,
                10,
                40,
                5000,
                6,
                7,
                8,
                9,
                10,
                11,
                12,
                13,
                14,
                15,
                16,
                17,
                18,
                true,
                null,
                null,
                2.5);
        EngineStats t = s.withTimeExcluded(30);
        assertThat(t.totalNs()).isEqualTo(70);
        assertThat(t.downtimeNs()).isEqualTo(10);
        assertThat(t.withTimeExcluded(0)).isEqualTo(t);
        assertThat(new EngineStats(
                        Phase.COMPLETED,
                        3,
                        4,
                        70,
                        10,
                        10,
                        5000,
                        6,
                        7,
                        8,
                        9,
                        10,
                        11,
                        12,
                        13,
                        14,
                        15,
                        16,
                        17,
                        18,
                        true,
                        null,
                        null,
                        2.5))
                .isEqualTo(t);
        EngineStats u = s.withTimeExcluded(41);
        assertThat(u.downtimeNs()).as("never below 0").isZero();
        assertThat(s.withTimeExcluded(40).downtimeNs()).isZero();
        assertThat(s.withTimeExcluded(101).totalNs()).isZero();
        assertThat(s.withTimeExcluded(100).totalNs()).isZero();
    }

    @Test
    void shouldNameEveryPhaseByItsJournalOrdinalAndRefuseOthers() {
        Phase[] all = Phase.values();
        for (int i = 0; i < all.length; i++) assertThat(Phase.byOrdinal(i)).isSameAs(all[i]);
        for (long bad : new long[] {-1, all.length}) {
            assertThatThrownBy(() -> Phase.byOrdinal(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("no phase " + bad);
        }
    }
}
