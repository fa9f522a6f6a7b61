package dev.ballast.core.engine;

/** Receives ranges of pages named by (block index, offset in block, count). */
@FunctionalInterface
public interface PageRanges {
    void range(int block, long offset, long count);
}
