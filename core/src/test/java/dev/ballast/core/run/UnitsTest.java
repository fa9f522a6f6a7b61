package dev.ballast.core.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {
    @ParameterizedTest
    @CsvSource({
        "4096,4096",
        "512K,524288",
        "512M,536870912",
        "8G,8589934592",
        "1T,1099511627776",
        "1.5G,1610612736",
        "8GiB,8589934592",
        "8g,8589934592",
        "16GB,17179869184"
    })
    void shouldParseSizes(String text, long bytes) {
        assertThat(Units.parseSize(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "8X", "G", "-1G", "1.0000001K"})
    void shouldRejectBadSizes(String text) {
        assertThatThrownBy(() -> Units.parseSize(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size");
    }

    @ParameterizedTest
    @CsvSource({
        "10Gbit,10000000000",
        "10Gbps,10000000000",
        "100Mbit,100000000",
        "1.25GB/s,10000000000",
        "0,0",
        "10G,10000000000"
    })
    void shouldParseBandwidths(String text, long bits) {
        assertThat(Units.parseBandwidth(text)).isEqualTo(bits);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10", "1250", "0.5"})
    void shouldRejectABandwidthWithoutAUnit(String text) {
        assertThatThrownBy(() -> Units.parseBandwidth(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no unit");
    }

    @ParameterizedTest
    @CsvSource({"1250MB/s,10000000000", "100Mbit/s,100000000"})
    void shouldParseBandwidthsInBytesOrBitsPerSecond(String text, long bits) {
        assertThat(Units.parseBandwidth(text)).isEqualTo(bits);
    }

    @ParameterizedTest
    @CsvSource({"2000000000,2s", "250000000,250ms", "50000,50us", "7,7ns", "0,0ns"})
    void shouldFormatDurationsInTheLargestWholeUnit(long ns, String text) {
        assertThat(Units.formatDuration(ns)).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource({"2s,2000000000", "300ms,300000000", "50us,50000", "1.5min,90000000000", "0,0"})
    void shouldParseDurations(String text, long ns) {
        assertThat(Units.parseDurationNs(text)).isEqualTo(ns);
    }

    @ParameterizedTest
    @ValueSource(strings = {"fast", "10 parsecs", "-1s", "250", "5"})
    void shouldRejectBadDurations(String text) {
        assertThatThrownBy(() -> Units.parseDurationNs(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"12,12 B", "4096,4.0 KiB", "8589934592,8.0 GiB"})
    void shouldFormatBytes(long bytes, String text) {
        assertThat(Units.formatBytes(bytes)).isEqualTo(text);
    }
}
