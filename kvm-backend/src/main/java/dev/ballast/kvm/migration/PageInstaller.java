package dev.ballast.kvm.migration;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.PageBitmap;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.VcpuState;
import dev.ballast.kvm.guest.GuestAbi;
import java.lang.foreign.MemorySegment;
import java.util.function.LongPredicate;

/**
 * The destination of a KVM migration: installs what arrives into a VM that is not running yet,
 * then starts it. It trusts nothing it is sent (DESIGN.md invariant 7): a block it does not
 * have, a range past a block's end, data of the wrong length, anything before {@code open} or
 * after {@code complete} is refused with a {@link LinkException} and nothing is written.
 *
 * <p>It remembers what it received, so a migration that failed and is retried (a resume) only
 * asks for the rest. A zero page that arrives for a page that is already zero is not written:
 * pages that hold nothing are never touched here, so they take no host memory.
 */
public final class PageInstaller implements Destination {
    private final KvmGuest guest;
    private final RamLayout layout;
    private final PageBitmap received;
    private final LongPredicate drop;
    private boolean opened;
    private boolean completed;
    private long pagesInstalled;
    private long pagesFilled;

    public PageInstaller(KvmGuest guest) {
        this(guest, i -> false);
    }

    /**
     * @param drop page indexes (in the guest's layout) whose data this destination loses on
     *             purpose when they arrive with their contents: a broken destination for tests of
     *             the self-check
     */
    public PageInstaller(KvmGuest guest, LongPredicate drop) {
        if (guest.started()) {
            throw new IllegalArgumentException("the destination guest must not be running");
        }
        this.guest = guest;
        this.layout = guest.layout();
        this.received = new PageBitmap(layout.totalPages());
        this.drop = drop;
    }

    public KvmGuest guest() {
        return guest;
    }

    public long pagesInstalled() {
        return pagesInstalled;
    }

    public long pagesFilled() {
        return pagesFilled;
    }

    private static LinkException refuse(String why) {
        return new LinkException(FailureCause.PROTOCOL, "destination refused: " + why);
    }

    private RamBlock block(String name, long offset, long count) throws LinkException {
        if (!opened || completed) {
            throw refuse(completed ? "the migration is complete" : "nothing before open");
        }
        RamBlock b = layout.blockNamed(name);
        if (b == null) {
            throw refuse("no block named '" + name + "'");
        }
        if (offset < 0 || count <= 0 || offset > b.pages() || count > b.pages() - offset) {
            throw refuse("range (" + name + ", offset " + offset + ", " + count + " pages) is past the block's " + b.pages() + " pages");
        }
        return b;
    }

    @Override
    public void open(RamLayout source, int poisonByte, Missing missing) throws LinkException {
        if (completed) {
            throw refuse("the migration is complete");
        }
        if (source.blockCount() != layout.blockCount()) {
            throw refuse("the RAM layout differs: " + source + " vs " + layout);
        }
        for (RamBlock s : source.blocks()) {
            RamBlock d = layout.blockNamed(s.name());
            if (d == null || d.firstPfn() != s.firstPfn() || d.pages() != s.pages()) {
                throw refuse("the RAM layout differs: " + source + " vs " + layout);
            }
        }
        opened = true;
        for (RamBlock b : layout.blocks()) {
            long i = received.nextClearBit(b.firstIndex(), b.endIndex());
            while (i < b.endIndex()) {
                long e = received.nextSetBit(i, b.endIndex());
                missing.range(b.name(), i - b.firstIndex(), e - i);
                i = received.nextClearBit(e, b.endIndex());
            }
        }
    }

    @Override
    public void pages(String name, long offset, long count, MemorySegment data) throws LinkException {
        RamBlock b = block(name, offset, count);
        if (data.byteSize() != count * GuestAbi.PAGE_SIZE) {
            throw refuse(count + " pages with " + data.byteSize() + " bytes of data");
        }
        MemorySegment mem = guest.blockMemory(b.index());
        long g = b.firstIndex() + offset;
        long p = 0;
        while (p < count) {
            long q = p;
            while (q < count && !drop.test(g + q)) {
                q++;
            }
            if (q > p) {
                MemorySegment.copy(data, p * GuestAbi.PAGE_SIZE, mem, (offset + p) * GuestAbi.PAGE_SIZE, (q - p) * GuestAbi.PAGE_SIZE);
            }
            p = q + 1; // q is dropped (or past the end)
        }
        received.setRange(g, g + count);
        pagesInstalled += count;
    }

    @Override
    public void fill(String name, long offset, long count, int fillByte) throws LinkException {
        RamBlock b = block(name, offset, count);
        if (fillByte < 0 || fillByte > 255) {
            throw refuse("fill byte " + fillByte);
        }
        MemorySegment mem = guest.blockMemory(b.index());
        long g = b.firstIndex() + offset;
        for (long p = 0; p < count; p++) {
            long at = (offset + p) * GuestAbi.PAGE_SIZE;
            // A page never received was never touched here, so it is zero without a look (a look
            // would fault it in); one received before is checked, and written only if it is not.
            if (fillByte == 0 && (!received.get(g + p) || KvmGuest.isZero(mem, at))) {
                continue;
            }
            mem.asSlice(at, GuestAbi.PAGE_SIZE).fill((byte) fillByte);
        }
        received.setRange(g, g + count);
        pagesFilled += count;
    }

    @Override
    public void balloon(String name, long offset, long count, boolean ballooned) throws LinkException {
        RamBlock b = block(name, offset, count);
        guest.devices().setBalloon(b.index(), offset, count, ballooned);
    }

    @Override
    public void endIteration(int iteration) throws LinkException {
        if (!opened || completed) {
            throw refuse("end of iteration " + iteration + " outside a migration");
        }
    }

    @Override
    public void complete(MemorySegment systemSlot, VcpuState vcpu) throws LinkException {
        if (!opened || completed) {
            throw refuse("complete outside a migration");
        }
        MemorySegment sys = guest.machine().memory().system().host();
        if (systemSlot.byteSize() != sys.byteSize()) {
            throw refuse("system slot of " + systemSlot.byteSize() + " bytes, expected " + sys.byteSize());
        }
        sys.copyFrom(systemSlot);
        completed = true;
        guest.start(vcpu);
    }
}
