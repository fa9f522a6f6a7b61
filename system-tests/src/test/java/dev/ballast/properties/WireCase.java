package dev.ballast.properties;

import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A migration as the wire sees it: one set of RAM blocks listed in two host orders (the source's
 * and the destination's), and the link calls the source makes, naming blocks by their
 * guest-physical rank so that both orders can be derived. Small: blocks of at most 48 pages.
 *
 * @param blocks   the blocks in guest-physical order
 * @param srcOrder the source host's order (a permutation of {@code blocks})
 * @param dstOrder the destination host's order
 * @param ops      the source's link calls
 * @param poison   the poison byte in the HELLO
 * @param maxPages pages per PAGES record (the writer's option)
 * @param maxRanges ranges per BALLOON record (the writer's option)
 */
public record WireCase(
        List<RamLayout.Spec> blocks,
        List<Integer> srcOrder,
        List<Integer> dstOrder,
        List<Op> ops,
        int poison,
        int maxPages,
        int maxRanges) {

    public static final int PAGES = 0, FILL = 1, BALLOON = 2, ITERATION = 3;

    /**
     * A link call: {@code kind}, the block's guest-physical rank, offset and count in the block, and
     * the content version (PAGES), fill byte (FILL) or 1 = into the balloon, 0 = out (BALLOON).
     */
    public record Op(int kind, int block, long offset, long count, int arg) {
        @Override
        public String toString() {
            return switch (kind) {
                case PAGES -> "pages(" + block + "+" + offset + "x" + count + " v" + arg + ")";
                case FILL -> "fill(" + block + "+" + offset + "x" + count + " =" + arg + ")";
                case BALLOON -> "balloon(" + block + "+" + offset + "x" + count + (arg == 1 ? " in)" : " out)");
                default -> "iteration-end";
            };
        }
    }

    public RamLayout source() {
        return ordered(srcOrder);
    }

    public RamLayout destination() {
        return ordered(dstOrder);
    }

    private RamLayout ordered(List<Integer> order) {
        List<RamLayout.Spec> s = new ArrayList<>();
        for (int i : order) s.add(blocks.get(i));
        return RamLayout.of(s);
    }

    public String name(int rank) {
        return blocks.get(rank).name();
    }

    public boolean ordersDiffer() {
        return !srcOrder.equals(dstOrder);
    }

    public String size() {
        return blocks.size() + " block" + (blocks.size() == 1 ? "" : "s") + ", " + ops.size() + " calls";
    }
}
