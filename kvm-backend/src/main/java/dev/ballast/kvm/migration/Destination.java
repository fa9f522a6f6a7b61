package dev.ballast.kvm.migration;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.kvm.VcpuState;
import java.lang.foreign.MemorySegment;

/**
 * What a KVM migration tells its destination, with pages named as the wire names them: (block
 * name, offset in block). {@link PageInstaller} is the destination in this process; a wire codec
 * implements the same calls on the sending side and calls a {@code PageInstaller} on the
 * receiving side, so {@link LocalPageLink} does not change when the destination moves to another
 * process.
 */
public interface Destination {
    /** Receives a range the destination does not hold. */
    @FunctionalInterface
    interface Missing {
        void range(String block, long offset, long count);
    }

    /** Starts (or resumes) a migration: refuses a layout that differs, reports what it lacks. */
    void open(RamLayout layout, int poisonByte, Missing missing) throws LinkException;

    /** Pages with their contents: {@code data} is {@code count} pages long. */
    void pages(String block, long offset, long count, MemorySegment data) throws LinkException;

    /** Pages whose every byte is {@code fillByte}. */
    void fill(String block, long offset, long count, int fillByte) throws LinkException;

    /** Pages that went into ({@code ballooned}) or came out of the balloon. */
    void balloon(String block, long offset, long count, boolean ballooned) throws LinkException;

    void endIteration(int iteration) throws LinkException;

    /** The end: the guest's system slot (its program, rings and driver state) and vCPU; the destination starts the guest. */
    void complete(MemorySegment systemSlot, VcpuState vcpu) throws LinkException;
}
