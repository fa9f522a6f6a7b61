/**
 * A streaming, validating reader of QEMU 7.2's live-migration stream (x86-64, plain pre-copy), written from
 * {@code /work/shared/qemu-stream-format.md} and QEMU's {@code migration/savevm.c} and {@code migration/ram.c}.
 * {@link dev.ballast.qemu.stream.QemuStreamReader} walks header, configuration, sections and RAM page records,
 * calls a {@link dev.ballast.qemu.stream.QemuStreamVisitor} once per validated record, hands the validated raw
 * bytes to a {@link dev.ballast.qemu.stream.ValidatedBytesSink} (the tap forwards them), and stops at the end of
 * RAM: device state has no length field and is not interpreted. Anything else is refused with one
 * {@link dev.ballast.qemu.stream.QemuStreamException} naming the byte offset. For a saved file,
 * {@link dev.ballast.qemu.stream.DeviceStateWalker} walks the device sections to EOF with the VM description (JSON,
 * read with Jackson) that QEMU appends. Uses the JDK and Jackson only.
 */
package dev.ballast.qemu.stream;
