package dev.ballast.kvm.guest;

import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.Reply;

/**
 * The guest's own check on the destination ({@code OP_SELF_CHECK}): every page in use holds what
 * it last wrote, free pages hold the poison value, the devices' page is as new as the guest saw
 * it. Its result decides {@code verify}; the first bad page names the broken invariant.
 *
 * @param violation the first broken invariant in the words of {@link Invariant#violation}, or null
 * @param firstBadIndex the first bad page's index in the layout, or -1
 */
public record SelfCheck(long checkedPages, long badPages, long firstBadIndex, String violation, long micros) {

    public boolean ok() {
        return violation == null && badPages == 0;
    }

    public static SelfCheck run(KvmGuest guest, int poisonByte) {
        long t0 = System.nanoTime();
        Reply c = guest.call(GuestAbi.OP_SELF_CHECK);
        long micros = (System.nanoTime() - t0) / 1000;
        long checked = c.arg(0);
        long bad = c.arg(1);
        if (bad == 0) return new SelfCheck(checked, 0, -1, null, micros);
        RamLayout layout = guest.layout();
        long pfn = c.arg(2);
        long index = layout.indexOfPfn(pfn);
        String page = index >= 0 ? layout.describeIndex(index) : "PFN 0x" + Long.toHexString(pfn);
        String v = switch ((int) c.arg(3)) {
            case GuestAbi.CHECK_POISON ->
                Invariant.POISON_PRESERVED.violation("free page " + page + " does not read as the poison value 0x"
                        + Integer.toHexString(poisonByte) + " on the destination (" + bad + " pages bad)");
            case GuestAbi.CHECK_USED ->
                Invariant.EVERY_WRITER_TRACKED.violation(
                        "page " + page + ", which the host's devices write, is older on the"
                                + " destination than what the guest saw on the source (" + bad + " pages bad)");
            default ->
                Invariant.NO_LOST_WRITE.violation("page " + page
                        + " does not hold what the guest last wrote on the destination (" + bad + " pages bad)");
        };
        return new SelfCheck(checked, bad, index, v, micros);
    }
}
