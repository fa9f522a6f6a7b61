package dev.ballast.kvm.dest;

/**
 * How a postcopy destination asks its source for pages its guest faulted on. A link implements
 * it (over the wire: a page request record, destination to source); the pages come back through
 * {@link PostcopyPlacer#place} or {@link PostcopyPlacer#placeZero}, in any order, mixed with the
 * pages the source pushes on its own.
 */
@FunctionalInterface
public interface PageRequests {
    /**
     * Asks for one page: {@code block} is the RAM block's index in the layout (as the engine's
     * {@code PageLink} names it), {@code offset} the page's index in the block. Called once per
     * page, on the destination's fault thread, which waits while it runs: queue, do not block.
     */
    void request(int block, long offset);
}
