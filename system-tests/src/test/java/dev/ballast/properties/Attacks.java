package dev.ballast.properties;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.HostileStreams;
import dev.ballast.core.wire.WireFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Turns a valid stream into a hostile one: the wire tests' random mutations ({@link HostileStreams},
 * from the core test-jar: flipped bytes, truncation, inserted bytes, records duplicated, dropped or
 * swapped, fields set to values chosen to hurt), or a named attack on a balloon bitmap (BALLOON
 * record): a range past its block's end, a count that overflows, a negative offset, ranges that
 * overlap or run backwards, a block id the handshake does not have, a record cut inside its
 * ranges. Named attacks are resealed (COMPLETE recomputed) so only the per-record checks stand in
 * their way.
 */
final class Attacks {
    private Attacks() {}

    static final int RANDOM = 0,
            OFFSET_PAST_END = 1,
            COUNT_PAST_END = 2,
            HUGE_COUNT = 3,
            NEGATIVE_OFFSET = 4,
            OVERLAP = 5,
            BACKWARDS = 6,
            UNKNOWN_BLOCK = 7,
            CUT_IN_RANGES = 8,
            HUGE_RANGE_COUNT = 9;
    static final String[] NAMES = {
        "random mutations",
        "balloon range starting past its block",
        "balloon range running past its block",
        "balloon count that overflows",
        "negative balloon offset",
        "overlapping balloon ranges",
        "balloon ranges backwards",
        "unknown block id",
        "BALLOON record cut inside its ranges",
        "huge balloon range count"
    };

    /** The hostile stream, or the valid one unchanged when the attack finds nothing to attack. */
    static byte[] apply(byte[] valid, RamLayout source, RamLayout destination, WireGenerators.Attack a) {
        if (a.kind() == RANDOM) return HostileStreams.mutate(valid, destination, a.seed(), a.mutations());
        List<WireRunner.Rec> balloons =
                WireRunner.records(valid).stream().filter(r -> r.type() == 5).toList();
        if (balloons.isEmpty()) return HostileStreams.mutate(valid, destination, a.seed(), a.mutations());
        WireRunner.Rec rec = balloons.get(a.record() % balloons.size());
        byte[] s = valid.clone();
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        int base = rec.start();
        int n = b.getInt(base + WireFormat.BALLOON_RANGE_COUNT_OFFSET);
        int i = a.range() % n;
        int at = base + WireFormat.BALLOON_RANGES_OFFSET + i * WireFormat.BALLOON_RANGE_LENGTH;
        int wireBlock = b.getInt(base + WireFormat.BALLOON_BLOCK_OFFSET);
        long pages = source.block(wireBlock).pages();
        long offset = b.getLong(at);
        switch (a.kind()) {
            case OFFSET_PAST_END -> b.putLong(at, pages + a.amount());
            case COUNT_PAST_END -> b.putLong(at + 8, pages - offset + 1 + a.amount());
            case HUGE_COUNT -> b.putLong(at + 8, Long.MAX_VALUE - offset + 1 + a.amount());
            case NEGATIVE_OFFSET -> b.putLong(at, -1 - a.amount());
            case OVERLAP -> {
                if (n < 2) return attackAsPastEnd(s, b, at, pages, offset, a);
                int cur = base + WireFormat.BALLOON_RANGES_OFFSET + Math.max(1, i) * WireFormat.BALLOON_RANGE_LENGTH;
                int prev = cur - WireFormat.BALLOON_RANGE_LENGTH;
                long end = b.getLong(prev) + b.getLong(prev + 8);
                b.putLong(cur, end - 1); // starts inside the range before it, and stays inside the block
                b.putLong(cur + 8, 1);
            }
            case BACKWARDS -> {
                if (n < 2) return attackAsPastEnd(s, b, at, pages, offset, a);
                int first = base + WireFormat.BALLOON_RANGES_OFFSET;
                byte[] r0 = Arrays.copyOfRange(s, first, first + WireFormat.BALLOON_RANGE_LENGTH);
                System.arraycopy(s, first + WireFormat.BALLOON_RANGE_LENGTH, s, first, WireFormat.BALLOON_RANGE_LENGTH);
                System.arraycopy(r0, 0, s, first + WireFormat.BALLOON_RANGE_LENGTH, WireFormat.BALLOON_RANGE_LENGTH);
            }
            case UNKNOWN_BLOCK -> b.putInt(base + WireFormat.BALLOON_BLOCK_OFFSET, source.blockCount() + a.amount());
            case CUT_IN_RANGES -> {
                return Arrays.copyOf(
                        s,
                        Math.max(
                                base + WireFormat.BALLOON_RANGES_OFFSET,
                                at + 1 + a.amount() % WireFormat.BALLOON_RANGE_LENGTH));
            }
            case HUGE_RANGE_COUNT -> b.putInt(base + WireFormat.BALLOON_RANGE_COUNT_OFFSET, n + 1 + a.amount());
            default -> throw new IllegalArgumentException("attack " + a.kind());
        }
        return WireRunner.resealed(s);
    }

    private static byte[] attackAsPastEnd(
            byte[] s, ByteBuffer b, int at, long pages, long offset, WireGenerators.Attack a) {
        b.putLong(at + 8, pages - offset + 1 + a.amount());
        return WireRunner.resealed(s);
    }
}
