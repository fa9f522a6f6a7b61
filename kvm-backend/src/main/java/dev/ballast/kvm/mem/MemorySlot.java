package dev.ballast.kvm.mem;

import dev.ballast.kvm.guestabi.GuestAbi;
import java.lang.foreign.MemorySegment;

/**
 * A block of guest memory as a KVM memory slot, and the host memory behind it (an anonymous
 * mapping owned by {@link GuestMemory}).
 *
 * @param name  {@code ram-low}, {@code ram-high} or {@code system}
 * @param slot  the KVM slot id
 * @param gpa   guest-physical start
 * @param host  the host mapping, {@code bytes} long
 */
public record MemorySlot(String name, int slot, long gpa, MemorySegment host) {
    public long bytes() {
        return host.byteSize();
    }

    public long pages() {
        return bytes() / GuestAbi.PAGE_SIZE;
    }

    public long firstPfn() {
        return gpa / GuestAbi.PAGE_SIZE;
    }

    public boolean containsPfn(long pfn) {
        return pfn >= firstPfn() && pfn - firstPfn() < pages();
    }

    /** The host view of one page of this block, by PFN. */
    public MemorySegment page(long pfn) {
        if (!containsPfn(pfn)) {
            throw new IllegalArgumentException("pfn 0x" + Long.toHexString(pfn) + " is not in " + name);
        }
        return host.asSlice((pfn - firstPfn()) * GuestAbi.PAGE_SIZE, GuestAbi.PAGE_SIZE);
    }
}
