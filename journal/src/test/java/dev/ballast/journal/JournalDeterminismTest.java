package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Same events give the same digest however they were batched; any change gives another digest. */
class JournalDeterminismTest {

    record Ev(EventType type, long t, long a, long b, long c) {}

    @Provide
    Arbitrary<Ev> events() {
        return Combinators.combine(
                        Arbitraries.of(EventType.class),
                        Arbitraries.longs().between(0, 1L << 45),
                        Arbitraries.longs(),
                        Arbitraries.longs(),
                        Arbitraries.longs())
                .as(Ev::new);
    }

    @SuppressWarnings("try") // the writer is closed inside its block on purpose: its digest is final only after close
    private static long write(List<Ev> events, int perDocument) {
        try {
            Path dir = Files.createTempDirectory("ballast-determinism");
            try {
                JournalWriter.Settings settings =
                        JournalWriter.Settings.defaults().withMaxRecordsPerDocument(perDocument);
                long digest;
                try (JournalWriter w = JournalWriter.create(dir, Map.of("seed", "1"), settings)) {
                    for (Ev e : events) w.publish(e.type(), e.t(), e.a(), e.b(), e.c());
                    w.close();
                    digest = w.digest();
                }
                try (JournalReader r = JournalReader.open(dir)) {
                    assertThat(r.verifyDigest()).isEqualTo(digest);
                    assertThat(r.footer().digest()).isEqualTo(digest);
                }
                return digest;
            } finally {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder())
                            .forEach(p -> p.toFile().delete());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long digestOf(List<Ev> events) {
        JournalDigest d = new JournalDigest();
        for (Ev e : events) d.update(e.type().id(), e.t(), e.a(), e.b(), e.c());
        return d.value();
    }

    @Property(tries = 15)
    void sameEventsGiveTheSameDigestHoweverBatched(
            @ForAll @Size(max = 3000) List<@From("events") Ev> events,
            @ForAll @IntRange(min = 1, max = 700) int perDocument) {
        long expected = digestOf(events);
        assertThat(write(events, perDocument)).isEqualTo(expected);
        assertThat(write(events, 4096)).isEqualTo(expected);
    }

    @Property(tries = 200)
    void anyChangeGivesAnotherDigest(
            @ForAll @Size(min = 1, max = 200) List<@From("events") Ev> events,
            @ForAll @IntRange(min = 0, max = 199) int at,
            @ForAll @IntRange(min = 0, max = 4) int field,
            @ForAll @IntRange(min = 0, max = 63) int bit) {
        int i = at % events.size();
        Ev e = events.get(i);
        long flip = 1L << bit;
        Ev changed = switch (field) {
            case 0 ->
                new Ev(e.type() == EventType.STEP ? EventType.CANCEL : EventType.STEP, e.t(), e.a(), e.b(), e.c());
            case 1 -> new Ev(e.type(), e.t() ^ flip, e.a(), e.b(), e.c());
            case 2 -> new Ev(e.type(), e.t(), e.a() ^ flip, e.b(), e.c());
            case 3 -> new Ev(e.type(), e.t(), e.a(), e.b() ^ flip, e.c());
            default -> new Ev(e.type(), e.t(), e.a(), e.b(), e.c() ^ flip);
        };
        List<Ev> other = new java.util.ArrayList<>(events);
        other.set(i, changed);
        assertThat(digestOf(other)).isNotEqualTo(digestOf(events));
    }

    @Property(tries = 100)
    void orderMattersAndSoDoesLength(@ForAll @Size(min = 2, max = 50) List<@From("events") Ev> events) {
        List<Ev> swapped = new java.util.ArrayList<>(events);
        java.util.Collections.swap(swapped, 0, swapped.size() - 1);
        if (!swapped.equals(events)) assertThat(digestOf(swapped)).isNotEqualTo(digestOf(events));
        assertThat(digestOf(events.subList(0, events.size() - 1))).isNotEqualTo(digestOf(events));
    }

    /** Pins the digest's definition (values from an independent re-implementation of the Javadoc). */
    @Example
    void digestHasFixedKnownValues() {
        JournalDigest d = new JournalDigest();
        assertThat(JournalDigest.toHex(d.value())).isEqualTo("075751f36609cdda");
        d.update(EventType.SEND_NORMAL.id(), 12_345_678, 0, 0x1200, 64);
        d.update(EventType.END.id(), 99, 4, 1L << 40, -1);
        assertThat(JournalDigest.toHex(d.value())).isEqualTo("ec06d5cf88ea93d8");
    }

    @Property(tries = 5)
    void writingTheSameRunTwiceGivesTheSameDigest(@ForAll @Size(max = 20_000) List<@From("events") Ev> events) {
        assertThat(write(events, 4096)).isEqualTo(write(events, 4096));
    }
}
