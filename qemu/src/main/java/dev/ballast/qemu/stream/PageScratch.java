package dev.ballast.qemu.stream;

/** The per-thread page array of {@link QemuStreamVisitor}'s default {@code onPage(..., ByteBuffer, int)}. */
final class PageScratch {
    static final ThreadLocal<byte[]> PAGE = ThreadLocal.withInitial(() -> new byte[QemuStreamReader.PAGE_SIZE]);

    private PageScratch() {}
}
