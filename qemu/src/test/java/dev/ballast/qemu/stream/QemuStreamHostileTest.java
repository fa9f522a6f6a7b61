package dev.ballast.qemu.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Hostile input: every prefix of a stream, every structure byte mutated, random streams and random damage. The
 * reader either accepts or throws its one typed exception; it never reports a record it has not read whole, and it
 * forwards exactly the bytes of the records it reported.
 */
class QemuStreamHostileTest {
    /** Small enough that tens of thousands of runs stay cheap, big enough to compact on the larger streams. */
    static final int BUFFER = 4 * QemuStreamReader.MAX_PAGE_RECORD;

    private static List<String> expectedUpTo(QemuStreamWriter w, long k) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < w.events().size(); i++) {
            long end = w.eventEnds().get(i);
            boolean header = w.events().get(i).startsWith("header");
            // the header's record ends with a peek at the next byte (a configuration subsection starts with 0x05)
            if (end < k || (end == k && !header)) {
                out.add(w.events().get(i));
            }
        }
        return out;
    }

    /** Truncated anywhere before the end of RAM: TRUNCATED at the start of the cut record, and only whole records. */
    static void checkEveryPrefix(QemuStreamWriter w, int chunk) {
        byte[] full = w.toByteArray();
        for (int k = 0; k <= full.length; k++) {
            Runs r = Runs.read(Arrays.copyOf(full, k), chunk, true, BUFFER);
            if (k >= w.ramEnd()) {
                assertThat(r.error()).as("prefix %d", k).isNull();
                assertThat(r.events()).as("prefix %d", k).isEqualTo(w.events());
                continue;
            }
            assertThat(r.error()).as("prefix %d", k).isNotNull();
            assertThat(r.error().kind())
                    .as("prefix %d: %s", k, r.error().getMessage())
                    .isEqualTo(QemuStreamException.Kind.TRUNCATED);
            assertThat(r.events()).as("prefix %d", k).isEqualTo(expectedUpTo(w, k));
            assertThat(r.ends())
                    .as("prefix %d", k)
                    .allSatisfy(e -> assertThat(e).isLessThanOrEqualTo(r.error().offset()));
            assertThat((long) r.forwarded().length)
                    .as("prefix %d", k)
                    .isEqualTo(r.error().offset());
            checkForwarded(r, full);
        }
    }

    /**
     * One byte changed: accepted, or refused with the typed exception; either way every record reported before the
     * changed byte is what the intact stream reports, nothing reported ends past the refusal, and the forwarded
     * bytes are exactly a prefix of the input that ends at the last reported record.
     */
    static void checkMutation(QemuStreamWriter w, byte[] mutated, int i, int chunk) {
        Runs r = Runs.read(mutated, chunk, false, BUFFER);
        List<String> before = new ArrayList<>();
        for (int e = 0; e < r.events().size(); e++) {
            long end = r.ends().get(e);
            if (end < i || (end == i && !r.events().get(e).startsWith("header"))) {
                before.add(r.events().get(e));
            }
        }
        assertThat(before).as("byte %d: records before it", i).isEqualTo(expectedUpTo(w, i));
        if (r.error() != null) {
            assertThat(r.error().getMessage()).doesNotContain("\n");
            assertThat(r.ends())
                    .as("byte %d", i)
                    .allSatisfy(e -> assertThat(e).isLessThanOrEqualTo(r.error().offset()));
            assertThat((long) r.forwarded().length)
                    .as("byte %d", i)
                    .isLessThanOrEqualTo(r.error().offset());
        } else {
            assertThat((long) r.forwarded().length).isEqualTo(r.ramEnd());
        }
        checkForwarded(r, mutated);
    }

    /**
     * The forwarded bytes are a prefix of the input that ends at the last reported record, or just after one more
     * EOS word (an EOS is validated, but is reported only with its section's footer).
     */
    static void checkForwarded(Runs r, byte[] input) {
        long lastEnd = r.ends().isEmpty() ? 0 : r.ends().getLast();
        assertThat(r.forwarded()).isEqualTo(Arrays.copyOf(input, r.forwarded().length));
        long extra = r.forwarded().length - lastEnd;
        assertThat(extra).isIn(0L, 8L);
        if (extra == 8) {
            assertThat(Arrays.copyOfRange(input, (int) lastEnd, (int) lastEnd + 8))
                    .containsExactly(0, 0, 0, 0, 0, 0, 0, 0x10);
        }
    }

    @Test
    void shouldRefuseEveryTruncationOfATypicalStreamCleanly() {
        checkEveryPrefix(QemuStreamReaderTest.typical(), Integer.MAX_VALUE);
    }

    @Test
    void shouldRefuseEveryTruncationWhenBytesArriveInSmallPieces() {
        checkEveryPrefix(QemuStreamReaderTest.typical(), 1000);
    }

    @Test
    void shouldSurviveEveryStructureByteMutated() {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] full = w.toByteArray();
        int refused = 0;
        for (int i = 0; i < full.length; i++) {
            if (w.isPageData(i) && i % 1024 != 0) {
                continue; // page data is opaque: a sample of it is enough
            }
            for (int v :
                    new int[] {0x00, 0x01, 0x80, 0xff, full[i] ^ 0x01, full[i] ^ 0x20, full[i] ^ 0x80, full[i] + 1}) {
                if ((byte) v == full[i]) {
                    continue;
                }
                byte[] m = full.clone();
                m[i] = (byte) v;
                checkMutation(w, m, i, Integer.MAX_VALUE);
                Runs r = Runs.read(m, 3, false, BUFFER);
                if (i >= w.ramEnd()) {
                    // device state is not read: the reader's account is the intact stream's
                    assertThat(r.error()).as("byte %d after RAM", i).isNull();
                    assertThat(r.events()).as("byte %d after RAM", i).isEqualTo(w.events());
                    continue;
                }
                refused += r.error() != null ? 1 : 0;
                if (i < 8) {
                    assertThat(r.error())
                            .as("magic and version byte %d changed", i)
                            .isNotNull();
                }
            }
        }
        // accepted: page offsets still inside their block, the machine type, page data; refused: the rest
        assertThat(refused).isPositive();
    }

    // ---- random streams

    /** A random but valid stream: 1-4 blocks (odd names included), PART sections of ZERO and PAGE records, END. */
    static QemuStreamWriter randomStream(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Long> blocks = new LinkedHashMap<>();
        int n = 1 + r.nextInt(4);
        String[] names = {
            "pc.ram", "pc.bios", "/rom@etc/acpi/tables", "a", "\u00ff\u0001x", "0000:00:02.0/virtio-net-pci.rom"
        };
        while (blocks.size() < n) {
            blocks.put(names[r.nextInt(names.length)], (1L + r.nextInt(64)) * 4096);
        }
        List<String> order = new ArrayList<>(blocks.keySet());
        QemuStreamWriter w = new QemuStreamWriter().header(r.nextBoolean() ? "pc-q35-7.2" : "pc-i440fx-7.2");
        int id = r.nextInt();
        w.ramStart(id, blocks);
        int parts = r.nextInt(5);
        for (int s = 0; s <= parts; s++) {
            boolean end = s == parts;
            if (end) {
                w.end(id);
            } else {
                w.part(id);
            }
            int records = r.nextInt(8);
            for (int k = 0; k < records; k++) {
                String b = order.get(r.nextInt(order.size()));
                long off = r.nextLong(blocks.get(b) / 4096) * 4096;
                if (r.nextInt(3) == 0) {
                    w.page(b, off, (byte) r.nextInt());
                } else {
                    w.zero(b, off);
                }
            }
            w.eos().footer(id, end ? "END" : "PART");
        }
        return w.devicesAndEof();
    }

    @Property(tries = 300)
    void shouldReadRandomStreamsExactly(@ForAll long seed, @ForAll @IntRange(min = 1, max = 9000) int chunk) {
        QemuStreamWriter w = randomStream(seed);
        Runs r = Runs.read(w.toByteArray(), chunk, true, BUFFER);
        assertThat(r.error()).isNull();
        assertThat(r.events()).isEqualTo(w.events());
        assertThat(r.ends()).isEqualTo(w.eventEnds());
        assertThat(r.reader().zeroPages()).isEqualTo(w.zeroPages());
        assertThat(r.reader().normalPages()).isEqualTo(w.normalPages());
        assertThat(r.forwarded()).isEqualTo(Arrays.copyOf(w.toByteArray(), (int) w.ramEnd()));
    }

    @Provide
    Arbitrary<int[]> damage() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, Integer.MAX_VALUE),
                        Arbitraries.integers().between(0, 255),
                        Arbitraries.integers().between(1, 5000))
                .as((at, value, chunk) -> new int[] {at, value, chunk});
    }

    @Property(tries = 500)
    void shouldSurviveRandomDamageToRandomStreams(@ForAll long seed, @ForAll("damage") int[] d) {
        QemuStreamWriter w = randomStream(seed);
        byte[] full = w.toByteArray();
        int i = (int) (d[0] % w.ramEnd());
        byte[] m = full.clone();
        m[i] = (byte) d[1];
        checkMutation(w, m, i, d[2]);
    }

    @Property(tries = 200)
    void shouldRefuseRandomTruncationsOfRandomStreams(
            @ForAll long seed,
            @ForAll @IntRange(min = 0, max = 1 << 20) int cut,
            @ForAll @IntRange(min = 1, max = 5000) int chunk) {
        QemuStreamWriter w = randomStream(seed);
        int k = (int) (cut % (w.ramEnd() + 1));
        Runs r = Runs.read(Arrays.copyOf(w.toByteArray(), k), chunk, true, BUFFER);
        if (k == w.ramEnd()) {
            assertThat(r.error()).isNull();
            return;
        }
        assertThat(r.error()).isNotNull();
        assertThat(r.error().kind()).isEqualTo(QemuStreamException.Kind.TRUNCATED);
        assertThat(r.events()).isEqualTo(expectedUpTo(w, k));
        assertThat((long) r.forwarded().length).isEqualTo(r.error().offset());
        checkForwarded(r, Arrays.copyOf(w.toByteArray(), k));
    }
}
