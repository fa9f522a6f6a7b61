package dev.ballast.kvm;

/** Why {@link KvmVcpu#run()} returned: the decoded {@code kvm_run.exit_reason}. */
public sealed interface VcpuExit {
    /** The guest wrote {@code size} bytes ({@code count} times) to an I/O port; {@code data} is the first value. */
    record IoOut(int port, int size, int count, long data) implements VcpuExit {}

    /** The guest reads an I/O port; answer with {@link KvmVcpu#completeIoIn(long)} before running again. */
    record IoIn(int port, int size, int count) implements VcpuExit {}

    /** The guest executed {@code hlt}. */
    record Hlt() implements VcpuExit {}

    /** The guest triple-faulted (an exception it could not deliver: at CPL 3 with no IDT, any fault). */
    record Shutdown() implements VcpuExit {}

    /** {@code KVM_RUN} returned {@code EINTR}: a signal or {@code immediate_exit}; the guest can be resumed. */
    record Interrupted() implements VcpuExit {}

    /** The hardware refused to enter the guest (bad vCPU state). */
    record FailEntry(long hardwareEntryFailureReason, int cpu) implements VcpuExit {}

    /** KVM could not handle something the guest did (e.g. an instruction it cannot emulate). */
    record InternalError(int suberror, long[] data) implements VcpuExit {
        @Override
        public String toString() {
            return "InternalError[suberror=" + suberror + ", data=" + java.util.Arrays.toString(data) + "]";
        }
    }

    /** An exit reason Ballast does not handle. */
    record Unknown(int exitReason, long hardwareExitReason) implements VcpuExit {}
}
