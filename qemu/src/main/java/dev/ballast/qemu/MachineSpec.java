package dev.ballast.qemu;

import dev.ballast.qemu.guest.GuestImage;
import java.util.ArrayList;
import java.util.List;

/**
 * One QEMU guest's command line: q35, one vCPU, {@code memKiB} of RAM (a multiple of 4 KiB: a size that is not a
 * multiple of 256 KiB, such as 1 GiB + 8 KiB, keeps QEMU 7.2's TCG dirty-log sync off its fast path, docs/findings.md
 * finding 3), no default devices, the kernel and Ballast's
 * initramfs, the serial console on a unix socket (logged to a file; the host writes lines to the guest through the
 * socket), QMP on a unix socket, and a virtio balloon whose free page hinting is on
 * or off (QEMU 7.2 needs an iothread for hinting). {@code incoming} is null for a source, or QEMU's
 * {@code -incoming} URI for a destination; the destination's command line is otherwise the same.
 */
public record MachineSpec(
        Accelerator accel,
        long memKiB,
        boolean freePageHint,
        GuestImage image,
        String workload,
        String extraKernelArgs) {

    public MachineSpec {
        if (memKiB < 64 << 10 || memKiB % 4 != 0) {
            throw new IllegalArgumentException("memKiB=" + memKiB + " (at least 64 MiB, a multiple of 4 KiB)");
        }
    }

    List<String> arguments(String qemu, String serialFile, String serialSocket, String qmpSocket, String incoming) {
        List<String> a = new ArrayList<>(List.of(
                qemu,
                "-accel",
                accel.qemuName(),
                "-machine",
                "q35",
                "-smp",
                "1",
                "-m",
                memKiB % 1024 == 0 ? (memKiB >> 10) + "M" : memKiB + "K",
                "-nodefaults",
                "-display",
                "none",
                "-kernel",
                image.kernel().toString(),
                "-initrd",
                image.initrd().toString(),
                "-append",
                "console=ttyS0 panic=-1 quiet ballast.workload=" + workload
                        + (extraKernelArgs.isBlank() ? "" : " " + extraKernelArgs),
                "-chardev",
                "socket,id=ser0,path=" + serialSocket + ",server=on,wait=off,logfile=" + serialFile,
                "-serial",
                "chardev:ser0",
                "-qmp",
                "unix:" + qmpSocket + ",server=on,wait=off",
                "-object",
                "iothread,id=iot0",
                "-device",
                "virtio-balloon-pci,id=balloon0,free-page-hint=" + (freePageHint ? "on" : "off") + ",iothread=iot0"));
        if (incoming != null) {
            a.add("-incoming");
            a.add(incoming);
        }
        return a;
    }
}
