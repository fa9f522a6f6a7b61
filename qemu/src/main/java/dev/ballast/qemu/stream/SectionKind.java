package dev.ballast.qemu.stream;

/** QEMU's section types that carry a section id and a footer ({@code QEMU_VM_SECTION_*} in savevm.c). */
public enum SectionKind {
    /** {@code 0x01}: first section of an iterable handler (RAM's setup: the block list). */
    START(0x01),
    /** {@code 0x02}: one time slice of an iterable's data while the guest runs. */
    PART(0x02),
    /** {@code 0x03}: the iterable's last data, sent with the guest stopped (stop-and-copy). */
    END(0x03),
    /** {@code 0x04}: a non-iterable device's whole state. */
    FULL(0x04);

    private final int type;

    SectionKind(int type) {
        this.type = type;
    }

    /** The section type byte on the wire. */
    public int type() {
        return type;
    }
}
