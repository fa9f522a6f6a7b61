package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressLineTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void shouldShowPhaseIterationPercentAndBytes() {
        assertThat(ProgressLine.format("[hint 3/5]", "ITERATE", 4, 0.625, 3L << 30))
                .isEqualTo("[hint 3/5]  ITERATE       iteration 4    62.5%  3.0 GiB sent");
    }

    @Test
    void shouldRedrawOneLineInPlace() {
        try (ProgressLine line = new ProgressLine(err, "")) {
            line.update("BULK", 1, 0.1, 4096);
        }

        assertThat(written())
                .startsWith("\rBULK")
                .contains("\033[K")
                .endsWith("\r\033[K")
                .doesNotContain("\n");
    }

    @Test
    void shouldRedrawAtMostTenTimesASecond() {
        long start = System.nanoTime();
        try (ProgressLine line = new ProgressLine(err, "")) {
            for (int i = 0; i < 100_000; i++) line.update("BULK", 1, i / 100_000.0, i);
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        long draws = written().chars().filter(c -> c == '\r').count() - 1; // the last one clears
        assertThat(draws).isBetween(1L, 1 + (long) Math.ceil(seconds * 10));
    }

    @Test
    void shouldLeaveNothingWhenNeverDrawn() {
        new ProgressLine(err, "x").close();

        assertThat(written()).isEmpty();
    }

    @Test
    void shouldSayWhenItSyncsTheDirtyLogAndWhenTheGuestIsPaused() {
        java.util.List<dev.ballast.core.event.EventType> passed = new java.util.ArrayList<>();
        try (ProgressLine line = new ProgressLine(err, "")) {
            dev.ballast.core.event.EventSink sink = line.watching((type, t, a, b, c) -> passed.add(type));
            line.update("iterate", 2, 1.0, 4096);
            bytes.reset();
            sink.publish(dev.ballast.core.event.EventType.SYNC_BEGIN, 0, 2, 0, 0);
            assertThat(written()).endsWith("iterate       iteration 2   100.0%  4.0 KiB sent  syncing dirty log\033[K");
            bytes.reset();
            sink.publish(dev.ballast.core.event.EventType.SYNC_END, 0, 2, 10, 0);
            assertThat(written()).endsWith("sent\033[K");
            bytes.reset();
            sink.publish(dev.ballast.core.event.EventType.GUEST_RUN_STATE, 0, 1, 0, 0);
            assertThat(written()).endsWith("sent  stop-and-copy, guest paused\033[K");
            bytes.reset();
            sink.publish(dev.ballast.core.event.EventType.SYNC_BEGIN, 0, 3, 0, 0);
            assertThat(written()).endsWith("stop-and-copy, guest paused: syncing dirty log\033[K");
        }
        assertThat(passed)
                .containsExactly(
                        dev.ballast.core.event.EventType.SYNC_BEGIN,
                        dev.ballast.core.event.EventType.SYNC_END,
                        dev.ballast.core.event.EventType.GUEST_RUN_STATE,
                        dev.ballast.core.event.EventType.SYNC_BEGIN);
    }
}
