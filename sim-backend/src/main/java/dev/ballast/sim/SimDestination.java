package dev.ballast.sim;

import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;

/**
 * The simulated destination: fresh memory (all zeros), what it has received, and the balloon as
 * the source described it. It survives a failed attempt, so a retry can resume where it broke.
 */
public final class SimDestination {
    final RamLayout layout;
    final int[][] content;
    final PageBitmap received;
    final PageBitmap balloon;
    boolean started;
    int poisonByte;

    public SimDestination(RamLayout layout) {
        this.layout = layout;
        this.content = new int[layout.blockCount()][];
        for (int i = 0; i < content.length; i++)
            content[i] = new int[Math.toIntExact(layout.block(i).pages())];
        this.received = new PageBitmap(layout.totalPages());
        this.balloon = new PageBitmap(layout.totalPages());
    }

    public int read(int block, long offset) {
        return content[block][(int) offset];
    }
}
