package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TimeSeriesTest {
    private static final long MS = 1_000_000L;

    @Test
    void shouldSpreadBytesOverTheirIntervalAndKeepThemThroughMerges() {
        TimeSeries s = new TimeSeries();
        // 1 Gbit/s for one second, in steps of 3 ms (a step rarely fits a bucket), then half a second idle
        long bytesPerStep = 3 * MS / 8; // 3 ms at 1 Gbit/s
        long t = 0;
        for (; t + 3 * MS <= 1000 * MS; t += 3 * MS) s.bytes(t, t + 3 * MS, bytesPerStep);
        ReportData.Series r = s.series(1500 * MS, 0);
        assertThat(r.gbps().length).isBetween(TimeSeries.MAX_BUCKETS / 2, TimeSeries.MAX_BUCKETS);
        assertThat(Arrays.stream(r.gbps()).max().orElseThrow())
                .isLessThanOrEqualTo(1.0)
                .isGreaterThan(0.99);
        // the busy second at 1 Gbit/s, the idle half second at 0 (away from the window's reach)
        int windowBuckets = (int) Math.ceil(r.rateWindowMs() / r.bucketMs());
        int busyMid = (int) (500 / r.bucketMs()), idle = (int) (1400 / r.bucketMs());
        assertThat(r.gbps()[busyMid]).isCloseTo(1.0, within(0.01));
        assertThat(r.gbps()[idle]).isZero();
        assertThat(idle - windowBuckets).isGreaterThan((int) (1000 / r.bucketMs()));
    }
}
