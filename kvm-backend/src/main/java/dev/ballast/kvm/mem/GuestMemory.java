package dev.ballast.kvm.mem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.ballast.kvm.KvmVm;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.LibC;
import dev.ballast.kvm.sys.NativeException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest's memory: one anonymous mapping and one KVM slot (with dirty logging) per block of a
 * {@link GuestLayout}. Owns the mappings (one shared arena); close it after the VM fd.
 *
 * <p>The dirty log of a block is KVM's log ORed with the pages the host itself wrote into guest
 * memory ({@link #markHostWrite}), since KVM only sees the guest's writes, and with the pages a
 * failed migration gave back ({@link #restoreDirty}). {@link #rearmDirty} re-arms tracking of a
 * range just before the host reads it: a write before the call is forgotten (it is in what the
 * host is about to read), a write after it is in the next {@link #syncDirtyLog}. In
 * {@link DirtyLogMode#MANUAL_CLEAR} that is one {@code KVM_CLEAR_DIRTY_LOG} of the range; with
 * plain {@code GET} it costs a read of the whole slot's log.
 */
public final class GuestMemory implements AutoCloseable {
    private final KvmVm vm;
    private final GuestLayout layout;
    private final DirtyLogMode dirtyLogMode;
    private final Arena arena = Arena.ofShared();
    private final List<MemorySlot> ramBlocks = new ArrayList<>();
    private final MemorySlot system;
    private final List<MemorySlot> all = new ArrayList<>();
    private final MemorySegment[] kvmBitmaps;
    private final long[][] hostDirty;
    /** Per block: pages known dirty but not yet reported (read from KVM early, or given back). Guarded like hostDirty. */
    private final long[][] pending;

    private final MemorySegment[] clearMasks;

    private GuestMemory(KvmVm vm, GuestLayout layout, DirtyLogMode mode) {
        this.vm = vm;
        this.layout = layout;
        this.dirtyLogMode = mode;
        try {
            if (mode == DirtyLogMode.MANUAL_CLEAR) {
                vm.enableManualDirtyLogProtect();
            }
            int slot = 0;
            for (GuestLayout.BlockSpec spec : layout.allBlocks()) {
                MemorySegment host = LibC.mmapAnonymous(spec.name(), spec.bytes(), arena);
                MemorySlot block = new MemorySlot(spec.name(), slot++, spec.gpa(), host);
                vm.setUserMemoryRegion(block.slot(), KvmConstants.KVM_MEM_LOG_DIRTY_PAGES, block.gpa(), host);
                all.add(block);
            }
        } catch (RuntimeException e) {
            arena.close(); // the slots die with the VM, which the caller closes
            throw e;
        }
        this.system = all.getLast();
        this.ramBlocks.addAll(all.subList(0, all.size() - 1));
        this.kvmBitmaps = new MemorySegment[all.size()];
        this.hostDirty = new long[all.size()][];
        this.pending = new long[all.size()][];
        this.clearMasks = new MemorySegment[all.size()];
        for (MemorySlot b : all) {
            kvmBitmaps[b.slot()] = arena.allocate(words(b) * 8L, 8);
            clearMasks[b.slot()] = arena.allocate(words(b) * 8L, 8);
            hostDirty[b.slot()] = new long[words(b)];
            pending[b.slot()] = new long[words(b)];
        }
    }

    /** Maps the blocks of {@code layout} into {@code vm}, with dirty logging on. */
    public static GuestMemory create(KvmVm vm, GuestLayout layout, DirtyLogMode mode) {
        return new GuestMemory(vm, layout, mode);
    }

    private static int words(MemorySlot b) {
        return (int) ((b.pages() + 63) / 64);
    }

    public GuestLayout layout() {
        return layout;
    }

    public DirtyLogMode dirtyLogMode() {
        return dirtyLogMode;
    }

    public List<MemorySlot> ramBlocks() {
        return List.copyOf(ramBlocks);
    }

    public MemorySlot system() {
        return system;
    }

    /**
     * Pages of guest RAM mapped in now ({@code mincore} of each RAM block's mapping). This counts a never-written page
     * that a read mapped to the host's shared zero page (a migration's zero check does), so after such reads it is
     * more than the RSS, which {@code /proc/self/smaps} gives. Safe to call from a sampler thread while the VM runs or
     * closes: -1 once the memory is unmapped.
     */
    public long residentRamPages() {
        long n = 0;
        try (Arena a = Arena.ofConfined()) {
            for (MemorySlot b : ramBlocks) {
                long pages = b.bytes() / GuestAbi.PAGE_SIZE;
                MemorySegment vec = a.allocate(pages);
                try {
                    LibC.mincore(b.host().address(), b.bytes(), vec);
                } catch (NativeException e) {
                    if (e.errno() == Errno.ENOMEM) return -1;
                    throw e;
                }
                long whole = pages & ~7L;
                for (long i = 0; i < whole; i += 8) {
                    n += Long.bitCount(vec.get(JAVA_LONG_UNALIGNED, i) & 0x0101010101010101L);
                }
                for (long i = whole; i < pages; i++) {
                    n += vec.get(JAVA_BYTE, i) & 1;
                }
            }
        }
        return n;
    }

    /** RAM blocks then the system slot. */
    public List<MemorySlot> allBlocks() {
        return List.copyOf(all);
    }

    public MemorySlot block(String name) {
        for (MemorySlot b : all) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("no block named " + name);
    }

    /** The block holding a guest-physical page, or null. */
    public MemorySlot blockOfPfn(long pfn) {
        for (MemorySlot b : all) {
            if (b.containsPfn(pfn)) {
                return b;
            }
        }
        return null;
    }

    /** The host view of a guest page. */
    public MemorySegment page(long pfn) {
        MemorySlot b = blockOfPfn(pfn);
        if (b == null) {
            throw new IllegalArgumentException("pfn 0x" + Long.toHexString(pfn) + " is not guest memory");
        }
        return b.page(pfn);
    }

    /**
     * Gives a page-aligned range of a block back to the host ({@code madvise(MADV_DONTNEED)}):
     * its memory is freed and it reads as zero afterwards.
     */
    public void discard(MemorySlot block, long offset, long length) {
        if (offset % GuestAbi.PAGE_SIZE != 0
                || length % GuestAbi.PAGE_SIZE != 0
                || offset < 0
                || length < 0
                || offset + length > block.bytes()) {
            throw new IllegalArgumentException("discard range not page-aligned or past the block: block=" + block.name()
                    + " offset=" + offset + " length=" + length + " blockBytes=" + block.bytes());
        }
        if (length > 0) {
            LibC.madvise(block.host().asSlice(offset, length), LibC.MADV_DONTNEED);
        }
    }

    /**
     * Allocates every page of every block now, as QEMU's {@code -mem-prealloc} does, so that
     * writes into this memory later (a migration arriving) pay no first-touch fault:
     * {@code madvise(MADV_POPULATE_WRITE)}, or a write of zero to each page where the kernel is
     * older than 5.14. The contents stay zero, and KVM's dirty log does not see it.
     */
    public void populate() {
        for (MemorySlot b : all) {
            try {
                LibC.madvise(b.host(), LibC.MADV_POPULATE_WRITE);
            } catch (NativeException e) {
                if (e.errno() != Errno.EINVAL) throw e;
                for (long off = 0; off < b.bytes(); off += GuestAbi.PAGE_SIZE) {
                    b.host().set(JAVA_BYTE, off, (byte) 0);
                }
            }
        }
    }

    /** Records that the host wrote [offset, offset+length) of a block, for the next dirty-log read. */
    public void markHostWrite(MemorySlot block, long offset, long length) {
        long first = offset / GuestAbi.PAGE_SIZE;
        long last = (offset + Math.max(length, 1) - 1) / GuestAbi.PAGE_SIZE;
        long[] bits = hostDirty[block.slot()];
        synchronized (bits) {
            for (long p = first; p <= last; p++) {
                bits[(int) (p >>> 6)] |= 1L << p;
            }
        }
    }

    /**
     * Reads and clears the dirty log of a block: one bit per page of the block (bit {@code i % 64}
     * of word {@code i / 64} for page {@code i}), set where the guest or the host wrote since the
     * last read (or since the page was last re-armed), or where a range was given back.
     */
    public long[] syncDirtyLog(MemorySlot block) {
        long[] words = readKvmLog(block);
        long[] host = hostDirty[block.slot()];
        long[] early = pending[block.slot()];
        synchronized (host) {
            for (int i = 0; i < words.length; i++) {
                words[i] |= host[i] | early[i];
                host[i] = 0;
                early[i] = 0;
            }
        }
        return words;
    }

    /** KVM's log of a block since the last read, which it clears (re-protecting exactly the pages read). */
    private long[] readKvmLog(MemorySlot block) {
        MemorySegment bitmap = kvmBitmaps[block.slot()];
        vm.getDirtyLog(block.slot(), bitmap);
        if (dirtyLogMode == DirtyLogMode.MANUAL_CLEAR) {
            vm.clearDirtyLog(block.slot(), 0, (int) block.pages(), bitmap);
        }
        return bitmap.toArray(JAVA_LONG);
    }

    /**
     * Re-arms dirty tracking of pages [firstPage, firstPage+count) of a block: what was written
     * before is forgotten, a write after this call is in the next {@link #syncDirtyLog}.
     */
    public void rearmDirty(MemorySlot block, long firstPage, long count) {
        checkRange(block, firstPage, count);
        if (count == 0) {
            return;
        }
        long end = firstPage + count;
        if (dirtyLogMode == DirtyLogMode.MANUAL_CLEAR) {
            long from = firstPage & ~63L;
            long to = Math.min((end + 63) & ~63L, block.pages());
            MemorySegment mask = clearMasks[block.slot()];
            int n = (int) ((to - from + 63) / 64);
            for (int w = 0; w < n; w++) {
                long lo = from + 64L * w;
                long a = Math.max(firstPage, lo) - lo;
                long b = Math.min(end, lo + 64) - lo;
                mask.setAtIndex(JAVA_LONG, w, b <= a ? 0 : bits(a, b));
            }
            vm.clearDirtyLog(block.slot(), from, (int) (to - from), mask);
        } else {
            long[] words = readKvmLog(block);
            long[] early = pending[block.slot()];
            synchronized (hostDirty[block.slot()]) {
                for (int i = 0; i < words.length; i++) {
                    early[i] |= words[i];
                }
            }
        }
        long[] host = hostDirty[block.slot()];
        synchronized (host) {
            clearBits(host, firstPage, end);
            clearBits(pending[block.slot()], firstPage, end);
        }
    }

    /** Marks pages dirty again (a migration that did not send them gives them back). */
    public void restoreDirty(MemorySlot block, long firstPage, long count) {
        checkRange(block, firstPage, count);
        long[] early = pending[block.slot()];
        synchronized (hostDirty[block.slot()]) {
            for (long p = firstPage; p < firstPage + count; p++) {
                early[(int) (p >>> 6)] |= 1L << p;
            }
        }
    }

    /** Forgets everything logged so far for a block: tracking starts afresh. */
    public void resetDirty(MemorySlot block) {
        readKvmLog(block);
        long[] host = hostDirty[block.slot()];
        synchronized (host) {
            java.util.Arrays.fill(host, 0);
            java.util.Arrays.fill(pending[block.slot()], 0);
        }
    }

    private static void checkRange(MemorySlot block, long firstPage, long count) {
        if (firstPage < 0 || count < 0 || firstPage + count > block.pages()) {
            throw new IllegalArgumentException("page range past the block: block=" + block.name() + " firstPage="
                    + firstPage + " count=" + count + " blockPages=" + block.pages());
        }
    }

    /** Bits [a, b) of a word, 0 <= a < b <= 64. */
    private static long bits(long a, long b) {
        long hi = b >= 64 ? -1L : (1L << b) - 1;
        return hi & ~((1L << a) - 1);
    }

    private static void clearBits(long[] words, long from, long to) {
        for (long p = from; p < to; ) {
            int w = (int) (p >>> 6);
            long a = p & 63;
            long b = Math.min(64, to - (p - a));
            words[w] &= ~bits(a, b);
            p += b - a;
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
