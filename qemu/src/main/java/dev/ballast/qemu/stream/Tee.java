package dev.ballast.qemu.stream;

import java.util.List;

/** Two visitors told of every record, {@code a} first (a relay's counts and its journal; ingest's summary and its journal). */
public record Tee(QemuStreamVisitor a, QemuStreamVisitor b) implements QemuStreamVisitor {
    @Override
    public void onHeader(long at, int version, String machineType) {
        a.onHeader(at, version, machineType);
        b.onHeader(at, version, machineType);
    }

    @Override
    public void onSectionStart(long at, SectionKind kind, int sectionId, String name) {
        a.onSectionStart(at, kind, sectionId, name);
        b.onSectionStart(at, kind, sectionId, name);
    }

    @Override
    public void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {
        a.onRamSetup(at, totalBytes, blocks);
        b.onRamSetup(at, totalBytes, blocks);
    }

    @Override
    public void onBlock(long at, RamBlock block) {
        a.onBlock(at, block);
        b.onBlock(at, block);
    }

    @Override
    public void onZero(long at, RamBlock block, long offset) {
        a.onZero(at, block, offset);
        b.onZero(at, block, offset);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
        a.onPage(at, block, offset, data, dataOff);
        b.onPage(at, block, offset, data, dataOff);
    }

    /** Passes the reader's buffer on as it is, so neither visitor pays a copy it does not ask for. */
    @Override
    public void onPage(long at, RamBlock block, long offset, java.nio.ByteBuffer data, int dataOff) {
        a.onPage(at, block, offset, data, dataOff);
        b.onPage(at, block, offset, data, dataOff);
    }

    @Override
    public void onSectionEnd(long at, long end, SectionKind kind, int sectionId) {
        a.onSectionEnd(at, end, kind, sectionId);
        b.onSectionEnd(at, end, kind, sectionId);
    }

    @Override
    public void onRamEnd(long end) {
        a.onRamEnd(end);
        b.onRamEnd(end);
    }
}
