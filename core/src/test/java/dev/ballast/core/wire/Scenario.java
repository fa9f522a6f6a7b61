package dev.ballast.core.wire;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A random migration as the wire sees it: one set of blocks listed in two orders (the source's and
 * the destination's), and a sequence of link calls in the source's block numbering. Knows what the
 * destination must hold afterwards, by block name.
 */
record Scenario(
        long seed, RamLayout sender, RamLayout dest, List<long[]> calls, PageStreamWriter.Options options, int poison) {

    static final int PAGES = 0, FILL = 1, BALLOON = 2, ITERATION = 3;
    private static final String[] NAMES = {"ram-low", "ram-high", "pmem0", "vram-\u00fc", "b", "ram-\u4e2d"};

    /** Blocks of 1 to {@code maxPages} pages; calls of at most {@code maxRun} pages with contents. */
    static Scenario random(long seed, int maxBlocks, int maxPages, int maxCalls, int maxRun) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = 1 + r.nextInt(maxBlocks);
        List<String> names = new ArrayList<>(Arrays.asList(NAMES));
        List<RamLayout.Spec> specs = new ArrayList<>();
        long pfn = r.nextInt(2) == 0 ? 0 : r.nextLong(1L << 40);
        for (int i = 0; i < n; i++) {
            String name = names.remove(r.nextInt(names.size()));
            long pages = 1 + r.nextInt(maxPages);
            specs.add(new RamLayout.Spec(name, pfn, pages));
            pfn += pages + (r.nextBoolean() ? 0 : r.nextInt(1 << 18));
        }
        RamLayout sender = RamLayout.of(shuffled(specs, r));
        RamLayout dest = RamLayout.of(shuffled(specs, r));

        List<long[]> calls = new ArrayList<>();
        int iteration = 0;
        int count = r.nextInt(maxCalls + 1);
        for (int c = 0; c < count; c++) {
            int block = r.nextInt(n);
            long pages = sender.block(block).pages();
            long off = r.nextLong(pages);
            switch (r.nextInt(7)) {
                case 0, 1 -> {
                    long len = 1 + r.nextLong(Math.min(maxRun, pages - off));
                    calls.add(new long[] {PAGES, block, off, len, r.nextInt(4)});
                    // often continue right after it, so records coalesce
                    if (r.nextBoolean() && off + len < pages) {
                        calls.add(new long[] {
                            PAGES, block, off + len, 1 + r.nextLong(Math.min(maxRun, pages - off - len)), r.nextInt(4)
                        });
                    }
                }
                case 2, 3 -> {
                    long len = 1 + r.nextLong(pages - off);
                    int fill = r.nextInt(3) == 0 ? r.nextInt(256) : 0;
                    calls.add(new long[] {FILL, block, off, len, fill});
                    if (r.nextBoolean() && off + len < pages) calls.add(new long[] {FILL, block, off + len, 1, fill});
                }
                case 4, 5 -> {
                    // a run of ascending ranges, as the engine reports a balloon change
                    int set = r.nextInt(2);
                    long p = off;
                    int k = 1 + r.nextInt(4);
                    for (int i = 0; i < k && p < pages; i++) {
                        long len = 1 + r.nextLong(Math.min(8, pages - p));
                        calls.add(new long[] {BALLOON, block, p, len, set});
                        p += len + (r.nextInt(3) == 0 ? 0 : 1 + r.nextInt(3));
                    }
                }
                default -> calls.add(new long[] {ITERATION, ++iteration, 0, 0, 0});
            }
        }
        var options = new PageStreamWriter.Options(r.nextLong(), 1 + r.nextInt(4), 1 + r.nextInt(4), 0);
        int poison = r.nextInt(3) == 0 ? 0xAA : 0;
        return new Scenario(seed, sender, dest, calls, options, poison);
    }

    private static List<RamLayout.Spec> shuffled(List<RamLayout.Spec> specs, SplittableRandom r) {
        List<RamLayout.Spec> s = new ArrayList<>(specs);
        for (int i = s.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            RamLayout.Spec t = s.get(i);
            s.set(i, s.get(j));
            s.set(j, t);
        }
        return s;
    }

    /** The source's pages: contents depend on block name, offset and a per-call version. */
    WireTestSupport.PatternSource source() {
        return new WireTestSupport.PatternSource(sender);
    }

    /** Plays the calls on a writer; pages change version before they are sent. */
    void play(PageStreamWriter w, WireTestSupport.PatternSource src) throws LinkException {
        for (long[] c : calls) {
            int block = (int) c[1];
            switch ((int) c[0]) {
                case PAGES -> {
                    for (long p = c[2]; p < c[2] + c[3]; p++) src.version[block][(int) p] += (int) c[4];
                    w.sendPages(block, c[2], c[3]);
                }
                case FILL -> w.sendFill(block, c[2], c[3], (int) c[4]);
                case BALLOON -> w.sendBalloon(block, c[2], c[3], c[4] == 1);
                case ITERATION -> w.endIteration((int) c[1]);
                default -> throw new IllegalStateException();
            }
        }
    }

    /** The stream, encoded offline. */
    byte[] encode() {
        WireTestSupport.PatternSource src = source();
        return WireTestSupport.encode(sender, src, options, poison, w -> play(w, src));
    }

    /** What the destination must hold by block name: page hashes and balloon bits. */
    record Expected(Map<String, long[]> pages, Map<String, PageBitmap> balloon, List<Integer> iterations) {}

    Expected expected() {
        WireTestSupport.PatternSource src = source();
        Map<String, long[]> pages = new HashMap<>();
        Map<String, PageBitmap> balloon = new HashMap<>();
        for (RamBlock b : sender.blocks()) {
            long[] h = new long[(int) b.pages()];
            Arrays.fill(h, WireTestSupport.MemorySink.NEVER);
            pages.put(b.name(), h);
            balloon.put(b.name(), new PageBitmap(b.pages()));
        }
        List<Integer> iterations = new ArrayList<>();
        for (long[] c : calls) {
            int block = (int) c[1];
            switch ((int) c[0]) {
                case PAGES -> {
                    String name = sender.block(block).name();
                    for (long p = c[2]; p < c[2] + c[3]; p++) {
                        src.version[block][(int) p] += (int) c[4];
                        pages.get(name)[(int) p] = src.hash(block, p);
                    }
                }
                case FILL ->
                    Arrays.fill(
                            pages.get(sender.block(block).name()),
                            (int) c[2],
                            (int) (c[2] + c[3]),
                            WireTestSupport.fillHash((int) c[4]));
                case BALLOON -> {
                    PageBitmap bm = balloon.get(sender.block(block).name());
                    if (c[4] == 1) bm.setRange(c[2], c[2] + c[3]);
                    else bm.clearRange(c[2], c[2] + c[3]);
                }
                case ITERATION -> iterations.add((int) c[1]);
                default -> throw new IllegalStateException();
            }
        }
        return new Expected(pages, balloon, iterations);
    }

    @Override
    public String toString() {
        return "Scenario(seed " + seed + ", source " + sender + ", destination " + dest + ", " + calls.size()
                + " calls, " + options + ")";
    }
}
