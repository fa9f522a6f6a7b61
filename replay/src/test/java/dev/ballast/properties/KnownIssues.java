package dev.ballast.properties;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.CommandIds;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Product bugs this suite found that are reported and not fixed yet (see the README of this
 * package). A violation is put down to one of them only when the run's own events show that very
 * bug at that very page; any other violation fails the property as always. {@code
 * -Dballast.knownIssues=fail} lets them fail too, to see them (or to check a fix).
 *
 * <ol>
 *   <li><b>Command ids restart with every migration.</b> Each migration of a guest (a retry after a
 *       failure or cancel, the next hop of a chain) starts its hint requests at the run's first
 *       command id again, so a report the guest made for the previous migration (still in flight,
 *       or made after it ended) carries the live id and is applied: stale hints (invariant 4), and a
 *       page the guest has written since cleared and lost (invariants 1, 2). Put down to it: a page
 *       that a hint or free bitmap cleared under an id an earlier migration of the run had issued.</li>
 *   <li><b>A poison fill leaves an older dirty bit behind.</b> Hinted pages of a poisoning guest go
 *       as fill records without re-arming dirty tracking (so a write after the guest's report is
 *       not lost); a dirty bit set before the report (the guest's own poisoning when it freed the
 *       page, or one given back by a failed attempt) then sends the page again at the next pass
 *       though nothing wrote it since the fill (invariant 3), in the same migration or its retry.
 *       Put down to it: a page sent again whose previous send was a poison fill.</li>
 * </ol>
 */
final class KnownIssues implements EventSink {
    static final boolean FAIL = "fail".equals(System.getProperty("ballast.knownIssues"));
    static final AtomicLong REUSED_IDS = new AtomicLong();
    static final AtomicLong POISON_RESENDS = new AtomicLong();
    private static final Pattern PFN = Pattern.compile("PFN 0x([0-9a-f]+)");

    private final RamLayout layout;
    private final Set<Long> earlierIds = new HashSet<>();
    private final Set<Long> thisMigrationIds = new HashSet<>();
    private final PageBitmap clearedUnderReusedId;
    private final PageBitmap lastSendPoison;
    private final PageBitmap resentAfterPoison;
    private boolean reusedLive;

    KnownIssues(RamLayout layout) {
        this.layout = layout;
        this.clearedUnderReusedId = new PageBitmap(layout.totalPages());
        this.resentAfterPoison = new PageBitmap(layout.totalPages());
        this.lastSendPoison = new PageBitmap(layout.totalPages());
    }

    private long index(long block, long offset) {
        return layout.block((int) block).firstIndex() + offset;
    }

    @Override
    public void publish(EventType type, long timeNs, long a, long b, long c) {
        switch (type) {
            case PHASE -> {
                if (Phase.byOrdinal(a) == Phase.SETUP) {
                    earlierIds.addAll(thisMigrationIds);
                    thisMigrationIds.clear();
                    reusedLive = false;
                }
            }
            case HINT_COMMAND -> {
                if (CommandIds.isRequest(a)) thisMigrationIds.add(a);
            }
            case HINT, FREE_BITMAP -> reusedLive = earlierIds.contains(a);
            case SKIP_FREE -> {
                if (reusedLive) clearedUnderReusedId.setRange(index(a, b), index(a, b) + c);
            }
            case SEND_NORMAL -> sent(index(a, b), c, false);
            case SEND_FILL -> sent(index(a, b), c & ((1L << 48) - 1), (c >>> 48) != 0);
            default -> { }
        }
    }

    private void sent(long g, long n, boolean poison) {
        for (long i = g; i < g + n; i++) if (lastSendPoison.get(i)) resentAfterPoison.set(i);
        if (poison) lastSendPoison.setRange(g, g + n);
        else lastSendPoison.clearRange(g, g + n);
    }

    /** Which known issue explains this violation, or null. */
    String explain(String violation) {
        if (FAIL || violation == null || !violation.startsWith("invariant ")) return null;
        int inv = violation.charAt(10) - '0';
        Matcher m = PFN.matcher(violation);
        if (!m.find()) return null;
        long index = layout.indexOfPfn(Long.parseLong(m.group(1), 16));
        if (index < 0) return null;
        if ((inv == 1 || inv == 2 || inv == 4) && clearedUnderReusedId.get(index)) {
            REUSED_IDS.incrementAndGet();
            return "known issue 1 (command ids restart with every migration)";
        }
        if (inv == 3 && resentAfterPoison.get(index)) {
            POISON_RESENDS.incrementAndGet();
            return "known issue 2 (a poison fill leaves an older dirty bit behind)";
        }
        return null;
    }

    static String tally() {
        return String.format(Locale.ROOT, "violations put down to known issues: %d (command ids restart), %d (poison fill resend)",
                REUSED_IDS.get(), POISON_RESENDS.get());
    }
}
