package dev.ballast.core.wire;

import java.lang.foreign.MemorySegment;

/**
 * Where a {@link PageStreamWriter} reads page contents: the KVM backend backs it with mmapped guest
 * memory ({@code MemorySegment.copy}), the simulator with synthetic content. Called on the
 * writer's thread, on the hot path: it must not allocate.
 */
@FunctionalInterface
public interface PageSource {
    /**
     * Copies {@code count} pages from {@code (block, offset)}, as they are now, into
     * {@code dst} at {@code dstOffset} ({@code count * 4096} bytes).
     *
     * @param block the sender's host-side block index (as the engine names it)
     */
    void copyPages(int block, long offset, int count, MemorySegment dst, long dstOffset);
}
