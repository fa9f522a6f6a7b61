package dev.ballast.qemu.stream;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes QEMU 7.2 migration streams for tests, from {@code qemu-stream-format.md} alone (its own constants, none of
 * the reader's), and keeps the events a correct reader must report, each with the offset where its record ends.
 */
final class QemuStreamWriter {
    static final int PAGE = 4096;
    // savevm.c
    static final int VM_EOF = 0x00,
            START = 0x01,
            PART = 0x02,
            END = 0x03,
            FULL = 0x04,
            SUBSECTION = 0x05,
            VMDESC = 0x06,
            CONFIG = 0x07,
            COMMAND = 0x08,
            FOOTER = 0x7E;
    // ram.c
    static final int ZERO = 0x02,
            MEM_SIZE = 0x04,
            NORMAL = 0x08,
            EOS = 0x10,
            CONTINUE = 0x20,
            XBZRLE = 0x40,
            HOOK = 0x80,
            COMPRESS = 0x100,
            MULTIFD_FLUSH = 0x200;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Long> blocks = new LinkedHashMap<>();
    private final List<String> events = new ArrayList<>();
    private final List<Long> eventEnds = new ArrayList<>();
    private String lastBlock;
    private long zero;
    private long normal;
    private long ramEnd = -1;
    private final java.util.BitSet pageData = new java.util.BitSet();

    static QemuStreamWriter q35(long pcRamBytes) {
        QemuStreamWriter w = new QemuStreamWriter();
        w.header("pc-q35-7.2");
        w.ramStart(2, Map.of("pc.ram", pcRamBytes));
        return w;
    }

    QemuStreamWriter header(String machine) {
        be32(0x5145564D).be32(3).u8(CONFIG).be32(machine.length()).bytes(machine.getBytes(StandardCharsets.US_ASCII));
        event("header 3 " + machine);
        return this;
    }

    /** START for "ram" with the block list (insertion order kept when a LinkedHashMap is passed). */
    QemuStreamWriter ramStart(int id, Map<String, Long> list) {
        sectionHeader(START, id, "ram", 0, 4);
        event("start " + id);
        long total = 0;
        for (long l : list.values()) {
            total += l;
        }
        be64(total | MEM_SIZE);
        StringBuilder b = new StringBuilder("setup " + total);
        for (Map.Entry<String, Long> e : list.entrySet()) {
            name(e.getKey()).be64(e.getValue());
            blocks.put(e.getKey(), e.getValue());
            b.append(' ').append(e.getKey()).append('=').append(e.getValue());
        }
        be64(EOS);
        event(b.toString());
        return footer(id, "START");
    }

    QemuStreamWriter sectionHeader(int type, int id, String idstr, int instance, int version) {
        u8(type).be32(id).name(idstr).be32(instance).be32(version);
        return this;
    }

    QemuStreamWriter part(int id) {
        u8(PART).be32(id);
        event("PART " + id);
        return this;
    }

    QemuStreamWriter end(int id) {
        u8(END).be32(id);
        event("END " + id);
        return this;
    }

    QemuStreamWriter eos() {
        return be64(EOS);
    }

    QemuStreamWriter footer(int id, String kind) {
        u8(FOOTER).be32(id);
        event("end " + kind + " " + id);
        if (kind.equals("END")) {
            ramEnd = out.size();
            event("ramEnd " + ramEnd);
        }
        return this;
    }

    /** A ZERO record; CONTINUE when the block is the last one named, as QEMU does. */
    QemuStreamWriter zero(String block, long offset) {
        recordHeader(block, offset, ZERO);
        u8(0);
        zero++;
        event("zero " + block + " " + offset);
        return this;
    }

    QemuStreamWriter page(String block, long offset, byte fill) {
        recordHeader(block, offset, NORMAL);
        pageData.set(out.size(), out.size() + PAGE);
        for (int i = 0; i < PAGE; i++) {
            out.write((fill + i * 7) & 0xff);
        }
        normal++;
        event("page " + block + " " + offset + " " + (fill & 0xff));
        return this;
    }

    private void recordHeader(String block, long offset, int flags) {
        boolean cont = block.equals(lastBlock);
        be64(offset | flags | (cont ? CONTINUE : 0));
        if (!cont) {
            name(block);
            lastBlock = block;
            events.add("block " + block);
            eventEnds.add(-1L); // same record as the page that follows
        }
    }

    /**
     * Device sections, EOF and a VM description, as they follow RAM (not read by the reader; walked by
     * {@link DeviceStateWalker}): a timer of three fields, a cpu with an array, a nested struct array and a
     * subsection.
     */
    QemuStreamWriter devicesAndEof() {
        sectionHeader(FULL, 3, "timer", 0, 2).be64(123456789L).be64(0).be32(0);
        u8(FOOTER).be32(3);
        sectionHeader(FULL, 4, "cpu", 0, 12).bytes(new byte[300]).bytes(new byte[2 * 6]);
        u8(SUBSECTION).name("cpu/msr").be32(1).be64(0x1234);
        u8(FOOTER).be32(4);
        u8(VM_EOF);
        String json = """
                {"page_size": 4096, "devices": [
                 {"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, "fields": [
                   {"name": "a", "type": "int64", "size": 8}, {"name": "b", "type": "int64", "size": 8},
                   {"name": "c", "type": "uint32", "size": 4}]},
                 {"name": "cpu", "instance_id": 0, "vmsd_name": "cpu", "version": 12, "fields": [
                   {"name": "regs", "array_len": 75, "type": "uint32", "size": 4},
                   {"name": "segs", "array_len": 2, "type": "struct", "struct": {"vmsd_name": "seg", "version": 1,
                     "fields": [{"name": "sel", "type": "uint16", "size": 2}, {"name": "base", "type": "uint32", "size": 4}]},
                    "size": 6}],
                  "subsections": [{"vmsd_name": "cpu/msr", "version": 1,
                    "fields": [{"name": "msr", "type": "uint64", "size": 8}]}]}]}""";
        byte[] b = json.getBytes(StandardCharsets.US_ASCII);
        u8(VMDESC).be32(b.length).bytes(b);
        return this;
    }

    QemuStreamWriter u8(int v) {
        out.write(v);
        return this;
    }

    QemuStreamWriter be16(int v) {
        return u8(v >>> 8).u8(v);
    }

    QemuStreamWriter be32(int v) {
        return u8(v >>> 24).u8(v >>> 16).u8(v >>> 8).u8(v);
    }

    QemuStreamWriter be64(long v) {
        return be32((int) (v >>> 32)).be32((int) v);
    }

    QemuStreamWriter name(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        u8(b.length);
        return bytes(b);
    }

    QemuStreamWriter bytes(byte[] b) {
        out.write(b, 0, b.length);
        return this;
    }

    private void event(String e) {
        events.add(e);
        eventEnds.add((long) out.size());
        // a block event belongs to the record of this event
        for (int i = eventEnds.size() - 2; i >= 0 && eventEnds.get(i) == -1L; i--) {
            eventEnds.set(i, (long) out.size());
        }
    }

    /** Whether byte {@code i} is inside a page's 4096 data bytes (not structure). */
    boolean isPageData(int i) {
        return pageData.get(i);
    }

    int size() {
        return out.size();
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    List<String> events() {
        return events;
    }

    /** Offset where the record of each event ends. */
    List<Long> eventEnds() {
        return eventEnds;
    }

    long zeroPages() {
        return zero;
    }

    long normalPages() {
        return normal;
    }

    long ramEnd() {
        return ramEnd;
    }
}
