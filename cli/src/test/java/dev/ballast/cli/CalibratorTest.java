package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The measuring functions of calibrate, on tiny working sets: they must return sane positive figures. */
class CalibratorTest {
    private static final int PAGES = 64;

    @ParameterizedTest
    @EnumSource(Calibrator.ZeroCheck.class)
    void shouldMeasureAPositiveZeroCheckAndDataCheck(Calibrator.ZeroCheck how) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = arena.allocate(PAGES * Calibrator.PAGE, Calibrator.PAGE);
            double zero = Calibrator.zeroCheckNsPerPage(pages, how);
            pages.fill((byte) 1);
            double data = Calibrator.dataCheckNsPerPage(pages, how);

            // no upper bound: a wall-clock bound fails whenever the machine is busy (NaN, 0 or an
            // infinite rate still fail)
            assertThat(zero).isPositive().isFinite();
            assertThat(data).isPositive().isFinite();
        }
    }

    @ParameterizedTest
    @EnumSource(Calibrator.ZeroCheck.class)
    void shouldSeeANonZeroByteAnywhereInAPage(Calibrator.ZeroCheck how) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = arena.allocate(2 * Calibrator.PAGE, Calibrator.PAGE);
            for (int offset : new int[] {0, 1, 63, 64, 2047, 4095}) {
                pages.fill((byte) 0);
                pages.set(ValueLayout.JAVA_BYTE, Calibrator.PAGE + offset, (byte) 0x80);
                assertThat(how.isZero(pages, 0)).isTrue();
                assertThat(how.isZero(pages, Calibrator.PAGE))
                        .as("non-zero byte at %d", offset)
                        .isFalse();
            }
        }
    }

    @Test
    void shouldRefuseToCallADataPageZero() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = arena.allocate(PAGES * Calibrator.PAGE, Calibrator.PAGE);
            pages.set(ValueLayout.JAVA_BYTE, 5 * Calibrator.PAGE + 100, (byte) 1);

            assertThatThrownBy(() -> Calibrator.zeroCheckNsPerPage(pages, Calibrator.ZeroCheck.MISMATCH))
                    .hasMessageContaining("1 pages were not zero");
            assertThatThrownBy(() -> Calibrator.dataCheckNsPerPage(pages, Calibrator.ZeroCheck.LONG_LOOP))
                    .hasMessageContaining("63 pages read as zero");
        }
    }

    @Test
    void shouldCopyPagesIntoTheSendBuffer() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = arena.allocate(PAGES * Calibrator.PAGE, Calibrator.PAGE);
            pages.fill((byte) 0x5a);
            MemorySegment buffer = arena.allocate(4 * Calibrator.PAGE);

            assertThat(Calibrator.copyNsPerPage(pages, buffer)).isPositive();
            assertThat(buffer.mismatch(pages.asSlice(0, buffer.byteSize()))).isEqualTo(-1);
        }
    }

    @Test
    void shouldWalkEverySetBitOfTheBitmap() {
        long[] bitmap = new long[4];
        bitmap[0] = 0b1001;
        bitmap[3] = 1L << 63;

        assertThat(Calibrator.walk(bitmap)).isEqualTo(0 + 3 + 255);
        assertThat(Calibrator.bitmapWalkNsPerPage(Calibrator.sparseBitmap(1 << 16, 1024, 1)))
                .isPositive();
    }

    @Test
    void shouldSetAboutOneBitInNOfASparseBitmap() {
        long[] bitmap = Calibrator.sparseBitmap(1 << 20, 1024, 7);

        long bits = 0;
        for (long w : bitmap) bits += Long.bitCount(w);
        assertThat(bitmap).hasSize((1 << 20) / 64);
        assertThat(bits).isBetween(1000L, 1024L);
    }

    @Test
    void shouldMeasureLoopbackThroughputAndLatency() {
        long bits = Calibrator.loopbackBitsPerSec(4 << 20, 2_000_000_000L);
        long latency = Calibrator.loopbackOneWayLatencyNs(50);

        assertThat(bits).isPositive(); // no wall-clock bound: it fails on a busy machine
        assertThat(latency).isPositive();
    }

    @Test
    void shouldTakeTheMiddleValue() {
        assertThat(Calibrator.median(new double[] {5, 1, 3})).isEqualTo(3);
        assertThat(Calibrator.median(new double[] {4, 1, 3, 2})).isEqualTo(2.5);
        assertThat(Calibrator.median(new long[] {9, 7, 8})).isEqualTo(8);
    }
}
