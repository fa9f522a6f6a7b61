package dev.ballast.kvm.guestabi;

import static dev.ballast.kvm.guestabi.GuestAbi.PAGE_WORDS;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_CHECKSUM_WORD;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_MAGIC;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_MAGIC_WORD;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_PAYLOAD_WORD;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_PFN_WORD;
import static dev.ballast.kvm.guestabi.GuestAbi.STAMP_VERSION_WORD;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/**
 * The guest's per-page self-check stamp, the same functions as {@code stamp_page} and
 * {@code check_page} in {@code guest.c}: word 0 the PFN, word 1 the version the guest last
 * wrote, word 2 a checksum of every other word, word 3 a magic number, then a payload derived
 * from (pfn, version). A page proves it holds what the guest last wrote when its stamp is valid
 * for that (pfn, version).
 */
public final class PageStamp {
    private static final long GOLDEN = 0x9e3779b97f4a7c15L;

    private PageStamp() {}

    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The checksum over every word of the page but the checksum word itself. */
    public static long checksum(MemorySegment page) {
        long a = 0;
        long b = 0;
        for (int i = 0; i < PAGE_WORDS; i++) {
            long v = i == STAMP_CHECKSUM_WORD ? 0 : page.getAtIndex(JAVA_LONG, i);
            a += v;
            b += a;
        }
        return mix64(a) ^ b;
    }

    /** Writes the stamp of (pfn, version) into a page, as the guest does. */
    public static void stamp(MemorySegment page, long pfn, int version) {
        long v32 = Integer.toUnsignedLong(version);
        long seed = mix64(pfn * GOLDEN ^ (v32 << 32 | v32));
        for (int i = STAMP_PAYLOAD_WORD; i < PAGE_WORDS; i++) {
            page.setAtIndex(JAVA_LONG, i, seed + i * GOLDEN);
        }
        page.setAtIndex(JAVA_LONG, STAMP_PFN_WORD, pfn);
        page.setAtIndex(JAVA_LONG, STAMP_VERSION_WORD, v32);
        page.setAtIndex(JAVA_LONG, STAMP_MAGIC_WORD, STAMP_MAGIC);
        page.setAtIndex(JAVA_LONG, STAMP_CHECKSUM_WORD, checksum(page));
    }

    /** Whether the page holds a valid stamp of (pfn, version). */
    public static boolean check(MemorySegment page, long pfn, int version) {
        return page.getAtIndex(JAVA_LONG, STAMP_PFN_WORD) == pfn
                && page.getAtIndex(JAVA_LONG, STAMP_VERSION_WORD) == Integer.toUnsignedLong(version)
                && page.getAtIndex(JAVA_LONG, STAMP_MAGIC_WORD) == STAMP_MAGIC
                && page.getAtIndex(JAVA_LONG, STAMP_CHECKSUM_WORD) == checksum(page);
    }

    /** The version in a page's stamp, or -1 when the page holds no valid stamp for {@code pfn}. */
    public static long versionOf(MemorySegment page, long pfn) {
        long v = page.getAtIndex(JAVA_LONG, STAMP_VERSION_WORD);
        return check(page, pfn, (int) v) ? v : -1;
    }
}
