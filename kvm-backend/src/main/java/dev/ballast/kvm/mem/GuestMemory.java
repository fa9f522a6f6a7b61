package dev.ballast.kvm.mem;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ballast.kvm.KvmVm;
import dev.ballast.kvm.guest.GuestAbi;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest's memory: one anonymous mapping and one KVM slot (with dirty logging) per block of a
 * {@link GuestLayout}. Owns the mappings (one shared arena); close it after the VM fd.
 *
 * <p>The dirty log of a block is KVM's log ORed with the pages the host itself wrote into guest
 * memory ({@link #markHostWrite}): KVM only sees the guest's writes.
 */
public final class GuestMemory implements AutoCloseable {
    private final KvmVm vm;
    private final GuestLayout layout;
    private final DirtyLogMode dirtyLogMode;
    private final Arena arena = Arena.ofShared();
    private final List<RamBlock> ramBlocks = new ArrayList<>();
    private final RamBlock system;
    private final List<RamBlock> all = new ArrayList<>();
    private final MemorySegment[] kvmBitmaps;
    private final long[][] hostDirty;

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
                RamBlock block = new RamBlock(spec.name(), slot++, spec.gpa(), host);
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
        for (RamBlock b : all) {
            kvmBitmaps[b.slot()] = arena.allocate(words(b) * 8L, 8);
            hostDirty[b.slot()] = new long[words(b)];
        }
    }

    /** Maps the blocks of {@code layout} into {@code vm}, with dirty logging on. */
    public static GuestMemory create(KvmVm vm, GuestLayout layout, DirtyLogMode mode) {
        return new GuestMemory(vm, layout, mode);
    }

    private static int words(RamBlock b) {
        return (int) ((b.pages() + 63) / 64);
    }

    public GuestLayout layout() {
        return layout;
    }

    public DirtyLogMode dirtyLogMode() {
        return dirtyLogMode;
    }

    public List<RamBlock> ramBlocks() {
        return List.copyOf(ramBlocks);
    }

    public RamBlock system() {
        return system;
    }

    /** RAM blocks then the system slot. */
    public List<RamBlock> allBlocks() {
        return List.copyOf(all);
    }

    public RamBlock block(String name) {
        for (RamBlock b : all) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("no block named " + name);
    }

    /** The block holding a guest-physical page, or null. */
    public RamBlock blockOfPfn(long pfn) {
        for (RamBlock b : all) {
            if (b.containsPfn(pfn)) {
                return b;
            }
        }
        return null;
    }

    /** The host view of a guest page. */
    public MemorySegment page(long pfn) {
        RamBlock b = blockOfPfn(pfn);
        if (b == null) {
            throw new IllegalArgumentException("pfn 0x" + Long.toHexString(pfn) + " is not guest memory");
        }
        return b.page(pfn);
    }

    /**
     * Gives a page-aligned range of a block back to the host ({@code madvise(MADV_DONTNEED)}):
     * its memory is freed and it reads as zero afterwards.
     */
    public void discard(RamBlock block, long offset, long length) {
        if (offset % GuestAbi.PAGE_SIZE != 0 || length % GuestAbi.PAGE_SIZE != 0 || offset < 0 || length < 0
                || offset + length > block.bytes()) {
            throw new IllegalArgumentException("discard range not page-aligned or past the block: block=" + block.name()
                    + " offset=" + offset + " length=" + length + " blockBytes=" + block.bytes());
        }
        if (length > 0) {
            LibC.madvise(block.host().asSlice(offset, length), LibC.MADV_DONTNEED);
        }
    }

    /** Records that the host wrote [offset, offset+length) of a block, for the next dirty-log read. */
    public void markHostWrite(RamBlock block, long offset, long length) {
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
     * last read.
     */
    public long[] syncDirtyLog(RamBlock block) {
        MemorySegment bitmap = kvmBitmaps[block.slot()];
        vm.getDirtyLog(block.slot(), bitmap);
        if (dirtyLogMode == DirtyLogMode.MANUAL_CLEAR) {
            vm.clearDirtyLog(block.slot(), 0, (int) block.pages(), bitmap);
        }
        long[] words = bitmap.toArray(JAVA_LONG);
        long[] host = hostDirty[block.slot()];
        synchronized (host) {
            for (int i = 0; i < words.length; i++) {
                words[i] |= host[i];
                host[i] = 0;
            }
        }
        return words;
    }

    @Override
    public void close() {
        arena.close();
    }
}
