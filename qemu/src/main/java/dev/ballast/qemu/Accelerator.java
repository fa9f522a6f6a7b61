package dev.ballast.qemu;

/** How QEMU runs the guest: {@code -accel kvm} where it boots a stock kernel, TCG (emulation) otherwise. */
public enum Accelerator {
    KVM("kvm"),
    TCG("tcg");

    private final String qemuName;

    Accelerator(String qemuName) {
        this.qemuName = qemuName;
    }

    /** The value of QEMU's {@code -accel}. */
    public String qemuName() {
        return qemuName;
    }
}
