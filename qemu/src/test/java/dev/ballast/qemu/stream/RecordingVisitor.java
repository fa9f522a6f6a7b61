package dev.ballast.qemu.stream;

import java.util.ArrayList;
import java.util.List;

/** Logs every callback in the writer's vocabulary, with the reader's position (end of the record) at the call. */
final class RecordingVisitor implements QemuStreamVisitor {
    final List<String> events = new ArrayList<>();
    final List<Long> ends = new ArrayList<>();
    private final QemuStreamReader reader;
    private final boolean checkData;

    /** @param checkData check that each page holds the writer's pattern (off for streams mutated on purpose) */
    RecordingVisitor(QemuStreamReader reader, boolean checkData) {
        this.reader = reader;
        this.checkData = checkData;
    }

    private void log(String e) {
        events.add(e);
        ends.add(reader.position());
    }

    @Override
    public void onHeader(long at, int version, String machineType) {
        log("header " + version + " " + machineType);
    }

    @Override
    public void onSectionStart(long at, SectionKind kind, int sectionId, String name) {
        log(kind == SectionKind.START ? "start " + sectionId : kind + " " + sectionId);
    }

    @Override
    public void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {
        StringBuilder b = new StringBuilder("setup " + totalBytes);
        for (RamBlock r : blocks) {
            b.append(' ').append(r.name()).append('=').append(r.usedLength());
        }
        log(b.toString());
    }

    @Override
    public void onBlock(long at, RamBlock block) {
        log("block " + block.name());
    }

    @Override
    public void onZero(long at, RamBlock block, long offset) {
        log("zero " + block.name() + " " + offset);
    }

    @Override
    public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
        for (int i = 1; checkData && i < QemuStreamWriter.PAGE; i++) {
            if (data[dataOff + i] != (byte) (data[dataOff] + i * 7)) {
                throw new AssertionError("page data at " + at + " differs at byte " + i);
            }
        }
        log("page " + block.name() + " " + offset + " " + (data[dataOff] & 0xff));
    }

    @Override
    public void onSectionEnd(long at, long end, SectionKind kind, int sectionId) {
        log("end " + kind + " " + sectionId);
    }

    @Override
    public void onRamEnd(long end) {
        log("ramEnd " + end);
    }
}
