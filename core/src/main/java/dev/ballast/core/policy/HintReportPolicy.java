package dev.ballast.core.policy;

/** Free page hints and the use of the host's discards ({@link ReportPolicy}) together. */
public class HintReportPolicy extends HintPolicy {
    @Override
    public String name() {
        return "hint+report";
    }

    @Override
    public void onZeroed(PolicyContext ctx, long syncs, long pfn, long pages) {
        if (ReportPolicy.fresh(ctx, syncs)) ReportPolicy.skipZeroed(ctx, pfn, pages);
    }
}
