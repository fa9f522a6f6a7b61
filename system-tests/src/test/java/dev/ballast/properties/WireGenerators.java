package dev.ballast.properties;

import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/** Generators of {@link WireCase}s and of attacks on their streams. */
final class WireGenerators {
    private WireGenerators() {}

    private static final String[] NAMES = {"ram-low", "ram-high", "pmem0", "vram-\u00fc", "b", "ram-\u4e2d"};
    private static final int[][][] ORDERS = {
        {{0}}, {{0, 1}, {1, 0}}, {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}},
    };

    /** A raw call before it is fitted to the layout: kind, block pick, offset (per mille), length pick, argument. */
    record RawOp(int kind, int block, int offsetPerMille, int length, int arg) {}

    private static Arbitrary<RawOp> rawOps(int balloonWeight) {
        Arbitrary<Integer> kind = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(WireCase.PAGES)), Tuple.of(2, Arbitraries.just(WireCase.FILL)),
                Tuple.of(balloonWeight, Arbitraries.just(WireCase.BALLOON)),
                        Tuple.of(1, Arbitraries.just(WireCase.ITERATION)));
        return Combinators.combine(
                        kind,
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.integers().between(0, 999),
                        Arbitraries.integers().between(1, 48),
                        Arbitraries.integers().between(0, 255))
                .as(RawOp::new);
    }

    /** One to three blocks of 1 to 48 pages, two host orders, up to 16 calls. */
    static Arbitrary<WireCase> cases() {
        return cases(1, 3);
    }

    /** Two or three blocks, mostly balloon calls: what a balloon bitmap's journey across hosts needs. */
    static Arbitrary<WireCase> balloonCases() {
        return cases(2, 8).filter(WireCase::ordersDiffer);
    }

    private static Arbitrary<WireCase> cases(int minBlocks, int balloonWeight) {
        return Combinators.combine(
                        Arbitraries.integers().between(minBlocks, 3),
                        Arbitraries.integers().between(1, 48).list().ofSize(3),
                        Arbitraries.frequencyOf(
                                        Tuple.of(1, Arbitraries.just(0L)),
                                        Tuple.of(1, Arbitraries.longs().between(1, 1L << 20)))
                                .list()
                                .ofSize(3),
                        Arbitraries.integers().between(0, 5),
                        Arbitraries.integers().between(0, 5),
                        rawOps(balloonWeight).list().ofMaxSize(16),
                        Arbitraries.frequencyOf(
                                Tuple.of(2, Arbitraries.just(0)),
                                Tuple.of(1, Arbitraries.integers().between(1, 255))),
                        Arbitraries.integers().between(0, 15))
                .as((n, sizes, gaps, src, dst, raw, poison, opts) ->
                        build(n, sizes, gaps, src, dst, raw, poison, opts));
    }

    static WireCase build(
            int n, List<Integer> sizes, List<Long> gaps, int src, int dst, List<RawOp> raw, int poison, int opts) {
        List<RamLayout.Spec> blocks = new ArrayList<>();
        long pfn = 0;
        for (int i = 0; i < n; i++) {
            pfn += gaps.get(i);
            blocks.add(new RamLayout.Spec(NAMES[(i * 2 + n) % NAMES.length], pfn, sizes.get(i)));
            pfn += sizes.get(i);
        }
        List<WireCase.Op> ops = new ArrayList<>();
        for (RawOp r : raw) {
            if (r.kind() == WireCase.ITERATION) {
                ops.add(new WireCase.Op(WireCase.ITERATION, 0, 0, 0, 0));
                continue;
            }
            int block = r.block() % n;
            long pages = sizes.get(block);
            long off = Math.min(pages - 1, pages * r.offsetPerMille() / 1000);
            long max = pages - off;
            long count = switch (r.kind()) {
                case WireCase.PAGES -> 1 + (r.length() - 1) % Math.min(4, max);
                default -> 1 + (r.length() - 1) % max;
            };
            int arg = switch (r.kind()) {
                case WireCase.PAGES -> 1 + r.arg() % 3;
                case WireCase.BALLOON -> r.arg() % 2;
                default -> r.arg() % 3 == 0 ? r.arg() : 0;
            };
            ops.add(new WireCase.Op(r.kind(), block, off, count, arg));
        }
        int[] s = ORDERS[n - 1][src % ORDERS[n - 1].length];
        int[] d = ORDERS[n - 1][dst % ORDERS[n - 1].length];
        return new WireCase(
                List.copyOf(blocks), toList(s), toList(d), List.copyOf(ops), poison, 1 + (opts & 3), 1 + (opts >> 2));
    }

    private static List<Integer> toList(int[] a) {
        List<Integer> l = new ArrayList<>();
        for (int x : a) l.add(x);
        return List.copyOf(l);
    }

    /**
     * An attack on a stream: {@code kind} (see {@link Attacks}), which record and which range it picks,
     * and a seed for the random mutations of the wire tests' {@code HostileStreams}.
     */
    record Attack(int kind, int record, int range, int amount, long seed, int mutations) {
        @Override
        public String toString() {
            return "Attack{" + Attacks.NAMES[kind] + ", record pick " + record + ", range pick " + range + ", amount "
                    + amount + (kind == Attacks.RANDOM ? ", seed " + seed + ", " + mutations + " mutations" : "") + "}";
        }
    }

    static Arbitrary<Attack> attacks() {
        return Combinators.combine(
                        Arbitraries.integers().between(0, Attacks.NAMES.length - 1),
                        Arbitraries.integers().between(0, 63),
                        Arbitraries.integers().between(0, 63),
                        Arbitraries.integers().between(0, 64),
                        Arbitraries.longs(),
                        Arbitraries.integers().between(1, 3))
                .as(Attack::new);
    }
}
