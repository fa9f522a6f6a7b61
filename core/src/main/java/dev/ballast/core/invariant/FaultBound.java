package dev.ballast.core.invariant;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.mem.RamLayout;

/**
 * Invariant 8's bound, the same for every backend: how long a fault on a postcopy destination may
 * wait for its page. A fixed {@code baseNs} (slack, and the link's round trips), plus the link's
 * time for the engine steps the request may wait through: the one in flight when it arrives, then
 * one for every {@code requestsPerStep} requests queued before it, and one that serves it; each step
 * as long as the link takes for what a step may send (its requests and its pages). On a slow link a
 * burst of faults waits in line; a fault that waits longer than that starves.
 *
 * @param baseNs          the fixed part
 * @param stepNs          the link's time for one engine step's pages and requests (0 on a link without a limit)
 * @param requestsPerStep requests an engine step serves
 */
public record FaultBound(long baseNs, long stepNs, int requestsPerStep) {
    /** The simulator's fixed part, before its link's round trips. */
    public static final long SIM_BASE_NS = 250_000_000L;

    public FaultBound {
        if (baseNs < 0 || stepNs < 0 || requestsPerStep < 1)
            throw new IllegalArgumentException(
                    "fault bound " + baseNs + " ns + " + stepNs + " ns a step of " + requestsPerStep + " requests");
    }

    /**
     * The bound of a link that takes {@code linkNsPerByte} for each byte (0: no limit) under the
     * engine's step sizes and page header.
     */
    public static FaultBound of(long baseNs, double linkNsPerByte, EngineConfig cfg) {
        long pageNs = (long) Math.ceil((RamLayout.PAGE_SIZE + cfg.pageHeaderBytes()) * linkNsPerByte);
        int requestsPerStep = Math.max(1, cfg.requestsPerStep());
        // a step serves up to requestsPerStep requests, then pushes up to pagesPerStep pages
        return new FaultBound(baseNs, ((long) cfg.pagesPerStep() + requestsPerStep) * pageNs, requestsPerStep);
    }

    /** How long a fault may wait whose request found {@code queuedBefore} requests waiting before it. */
    public long allowedNs(long queuedBefore) {
        long steps = 1 + (queuedBefore + requestsPerStep) / requestsPerStep;
        return baseNs + steps * stepNs;
    }

    /** What broke invariant 8 ({@link Invariant#FAULTS_SERVED}) when a fault was served late. */
    public static String late(String page, long latencyNs, long allowedNs) {
        return "the fault on page " + page + " waited " + latencyNs / 1_000_000 + " ms for its page, over the bound of "
                + allowedNs / 1_000_000 + " ms";
    }

    /** What broke invariant 8 ({@link Invariant#FAULTS_SERVED}) when a fault still waited as the migration ended. */
    public static String neverServed(String page) {
        return "the guest faulted on page " + page
                + " after the switch-over and the source never sent it (it held the page as sent or skipped, not to send)";
    }
}
