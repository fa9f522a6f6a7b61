package dev.ballast.properties;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the books of a run from its events alone, engine by engine (attempt by attempt, hop by
 * hop): which pages its first pass had to cover (what the destination lacked at the start) and
 * how each was accounted for in that pass — sent with its data, sent as a fill record, skipped in
 * the balloon, or cleared by a hint — and how many bytes the pages and records it sent come to.
 * Every problem found is kept as a line of text.
 */
final class Accounting implements EventSink {
    private final RamLayout layout;
    private final int header;
    final List<String> problems = new ArrayList<>();

    // totals over the run
    long normal;
    long zero;
    long poisonFilled;
    long skippedBalloon;
    long fillRecords;
    long bytesFromPages;
    long bytesReported;
    long engines;
    long hintRanges;
    long skipRuns;

    // the engine in progress
    private PageBitmap missing;
    private PageBitmap accounted;
    private PageBitmap sentThisPass;
    private int pass;
    private long sync = -1;
    private long engineBytesFromPages;

    Accounting(RamLayout layout, int pageHeaderBytes) {
        this.layout = layout;
        this.header = pageHeaderBytes;
    }

    private long index(long block, long offset) {
        return layout.block((int) block).firstIndex() + offset;
    }

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        switch (type) {
            case PHASE -> {
                Phase p = Phase.byOrdinal(a);
                if (p == Phase.SETUP) {
                    engines++;
                    missing = new PageBitmap(layout.totalPages());
                    accounted = new PageBitmap(layout.totalPages());
                    sentThisPass = new PageBitmap(layout.totalPages());
                    engineBytesFromPages = 0;
                    pass = 0;
                } else if (!p.isTerminal()) {
                    pass = (int) b;
                    sentThisPass.clearAll();
                }
            }
            case SYNC_BEGIN -> sync = a;
            case DIRTY -> {
                if (sync == 0 && pass == 0) missing.setRange(index(a, b), index(a, b) + c);
            }
            case SEND_NORMAL -> {
                normal += c;
                long bytes = c * (4096L + header);
                engineBytesFromPages += bytes;
                sent(a, b, c);
            }
            case SEND_FILL -> {
                long n = EventType.SendFill.pages(c);
                if (EventType.SendFill.zero(c)) zero += n;
                else poisonFilled += n;
                fillRecords++;
                engineBytesFromPages += header + 8L;
                sent(a, b, n);
            }
            case DEFLATE_TO_SEND -> {
                // a stop-and-copy pass goes back for pages a deflate made ones to send: they may go twice in it
                sentThisPass.clearRange(index(a, b), index(a, b) + c);
            }
            case SKIP_BALLOON -> {
                skipRuns++;
                skippedBalloon += c;
                if (pass == 1) accounted.setRange(index(a, b), index(a, b) + c);
            }
            case SKIP_FREE -> {
                skipRuns++;
                if (pass == 1) accounted.setRange(index(a, b), index(a, b) + c);
            }
            case HINT, FREE_BITMAP -> hintRanges++;
            case ITERATION_END -> {
                if (a == 1) {
                    PageBitmap lost = new PageBitmap(layout.totalPages());
                    lost.copyFrom(missing);
                    lost.andNot(accounted);
                    long n = lost.count();
                    if (n > 0) {
                        long first = lost.nextSetBit(0);
                        problems.add("engine " + engines + ": " + n
                                + " pages the destination lacked were neither sent nor skipped in the first pass, the first "
                                + layout.describeIndex(first));
                    }
                }
            }
            case END -> {
                bytesReported += b;
                bytesFromPages += engineBytesFromPages;
                if (b != engineBytesFromPages) {
                    problems.add("engine " + engines + " reported " + b + " bytes sent, its pages and records come to "
                            + engineBytesFromPages);
                }
            }
            default -> {}
        }
    }

    private void sent(long block, long offset, long n) {
        long g = index(block, offset);
        long again = sentThisPass.nextSetBit(g, g + n);
        if (again < g + n)
            problems.add("engine " + engines + " sent " + layout.describeIndex(again) + " twice in pass " + pass);
        sentThisPass.setRange(g, g + n);
        if (pass == 1) accounted.setRange(g, g + n);
    }
}
