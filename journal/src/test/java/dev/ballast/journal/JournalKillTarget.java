package dev.ballast.journal;

import dev.ballast.core.event.EventType;
import java.nio.file.Path;
import java.util.Map;

/**
 * A child process for {@code JournalCutShortTest}: writes a journal forever, event i carrying
 * a=i, b=i*7, c=-i, with a checkpoint every 100 000 events, and prints {@code WRITTEN n} to stdout
 * now and then, until it is killed.
 */
public final class JournalKillTarget {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        JournalWriter w = JournalWriter.create(dir, Map.of("purpose", "kill test"));
        long i = 0;
        long nextReport = 1 << 16;
        while (true) {
            w.publish(EventType.values()[(int) (i % EventType.values().length)], i, i, i * 7, -i);
            i++;
            if (i % 100_000 == 0) {
                while (w.events() < i) Thread.onSpinWait();
                w.checkpoint(i, Long.toString(i).getBytes());
            }
            if (w.events() >= nextReport) {
                System.out.println("WRITTEN " + w.events());
                System.out.flush();
                nextReport = w.events() + (1 << 18);
            }
            if ((i & 1023) == 0) Thread.sleep(0, 1000);
        }
    }
}
