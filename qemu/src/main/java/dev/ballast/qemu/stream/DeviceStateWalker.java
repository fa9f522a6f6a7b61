package dev.ballast.qemu.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks the device state of a <em>saved</em> stream, from RAM's end to EOF, with the VM description that QEMU
 * appends after EOF ({@code 0x06}, be32 length, JSON): for each device the JSON gives the fields and the bytes each
 * wrote ({@code size}, {@code array_len}, nested {@code struct}, {@code subsections}). Device sections have no
 * length field, so this is the only exact way over them; a stream read live cannot use it (the JSON comes last),
 * which is why {@link QemuStreamReader} stops at RAM's end.
 *
 * <p>The description is found from the file's end: the one position p with byte 0x06, a be32 equal to the bytes
 * after it, and a '{' next; the walk must then land exactly on the EOF byte at p - 1. The JSON is as untrusted as the
 * rest: sizes, counts and nesting are bounded, and every failure is a {@link QemuStreamException} with the offset.
 */
public final class DeviceStateWalker {
    /** QEMU's description of a stock q35 guest is about 45 KB; refuse anything absurd. */
    static final int MAX_DESCRIPTION_BYTES = 16 << 20;

    static final int MAX_DEPTH = 32;
    static final long MAX_ARRAY = 1 << 24;
    /** Fields and array elements visited; a hostile description of nested empty arrays must not spin. */
    static final long MAX_STEPS = 10_000_000;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the walk found: device sections in order, the EOF byte's offset, the description's length. */
    public record Result(List<String> devices, long eofOffset, long descriptionBytes, int pageSize) {}

    private final FileChannel file;
    private final long size;
    private final ByteBuffer one = ByteBuffer.allocate(8);
    private long pos;
    private long steps;

    private DeviceStateWalker(FileChannel file, long size) {
        this.file = file;
        this.size = size;
    }

    /** The offset of the VM description's 0x06 byte, or -1 when the file does not end with one. */
    public static long findDescription(FileChannel file) throws IOException {
        long size = file.size();
        long from = Math.max(0, size - MAX_DESCRIPTION_BYTES - 5);
        ByteBuffer tail = ByteBuffer.allocate((int) (size - from));
        file.read(tail, from);
        tail.flip();
        for (int i = tail.limit() - 6; i >= 0; i--) {
            if (tail.get(i) == 0x06
                    && tail.get(i + 5) == '{'
                    && Integer.toUnsignedLong(tail.getInt(i + 1)) == tail.limit() - (i + 5L)) {
                return from + i;
            }
        }
        return -1;
    }

    /** Walks the device sections from {@code ramEnd} (as {@link QemuStreamReader#readRam} returned it) to EOF. */
    public static Result walk(FileChannel file, long ramEnd) throws IOException, QemuStreamException {
        long desc = findDescription(file);
        if (desc < 0) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.UNSUPPORTED,
                    ramEnd,
                    "no VM description at the end of the file (QEMU writes one unless the machine suppresses it)");
        }
        long size = file.size();
        byte[] jsonBytes = new byte[(int) (size - desc - 5)];
        file.read(ByteBuffer.wrap(jsonBytes), desc + 5);
        JsonNode json;
        try {
            json = JSON.readTree(jsonBytes);
        } catch (JsonProcessingException e) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.MALFORMED,
                    desc + 5,
                    "the VM description is not JSON: " + e.getOriginalMessage());
        }
        DeviceStateWalker w = new DeviceStateWalker(file, desc);
        w.pos = ramEnd;
        List<String> devices = new ArrayList<>();
        while (true) {
            long at = w.pos;
            int type = w.u8("a section type");
            if (type == 0x00) {
                if (w.pos != desc) {
                    throw new QemuStreamException(
                            QemuStreamException.Kind.MALFORMED,
                            at,
                            "EOF section, but the VM description starts at byte " + desc + ", not right after it");
                }
                return new Result(
                        List.copyOf(devices),
                        at,
                        size - desc,
                        json.path("page_size").asInt());
            }
            if (type != 0x04) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.UNSUPPORTED,
                        at,
                        "section type 0x" + String.format("%02x", type)
                                + " among the device sections (only FULL is expected after RAM)");
            }
            int id = w.be32("a FULL section header");
            String name = w.name("a FULL section header");
            long instance = Integer.toUnsignedLong(w.be32("a FULL section header"));
            w.be32("a FULL section header"); // version: the description was written for it
            JsonNode device = null;
            for (JsonNode d : json.path("devices")) {
                if (d.path("name").asText().equals(name)
                        && d.path("instance_id").asLong() == instance) {
                    device = d;
                    break;
                }
            }
            if (device == null) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.MALFORMED,
                        at,
                        "device section '" + name + "' instance " + instance + " is not in the VM description");
            }
            w.vmsd(device, 0, at);
            long footerAt = w.pos;
            if (w.u8("a section footer") != 0x7E || w.be32("a section footer") != id) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.MALFORMED,
                        footerAt,
                        "device section '" + name + "' does not end with its footer where its description says");
            }
            devices.add(name);
        }
    }

    /** One vmstate description: its fields, then the subsections present (each starts with 0x05). */
    private void vmsd(JsonNode d, int depth, long sectionAt) throws IOException, QemuStreamException {
        if (depth > MAX_DEPTH) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.MALFORMED, pos, "VM description nested deeper than " + MAX_DEPTH);
        }
        for (JsonNode f : d.path("fields")) {
            step();
            long count = f.has("array_len") ? f.path("array_len").asLong() : 1;
            if (count < 0 || count > MAX_ARRAY) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.MALFORMED,
                        pos,
                        "field '" + f.path("name").asText() + "' has array_len " + count);
            }
            String type = f.path("type").asText();
            if (type.equals("struct")) {
                for (long i = 0; i < count; i++) {
                    step();
                    vmsd(f.path("struct"), depth + 1, sectionAt);
                }
            } else if (f.has("fields")) { // "tmp" and other inline descriptions
                for (long i = 0; i < count; i++) {
                    step();
                    vmsd(f, depth + 1, sectionAt);
                }
            } else {
                long bytes = f.path("size").asLong(-1);
                if (bytes < 0 || bytes > size) {
                    throw new QemuStreamException(
                            QemuStreamException.Kind.MALFORMED,
                            pos,
                            "field '" + f.path("name").asText() + "' has size " + f.path("size"));
                }
                if (bytes != 0 && count > (size - pos) / bytes) {
                    throw new QemuStreamException(
                            QemuStreamException.Kind.MALFORMED,
                            pos,
                            "field '" + f.path("name").asText() + "' (" + count + " x " + bytes
                                    + " bytes) runs past the EOF section");
                }
                skip(bytes * count, "field '" + f.path("name").asText() + "'");
            }
        }
        // The description lists exactly the subsections that were written, in order; each starts with 0x05.
        for (JsonNode sub : d.path("subsections")) {
            long at = pos;
            String want = sub.path("vmsd_name").asText();
            if (u8("a subsection") != 0x05) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.MALFORMED,
                        at,
                        "subsection '" + want + "' of the VM description is not in the stream here");
            }
            String name = name("a subsection");
            be32("a subsection");
            if (!name.equals(want)) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.MALFORMED,
                        at,
                        "subsection '" + name + "' where the VM description has '" + want + "'");
            }
            vmsd(sub, depth + 1, sectionAt);
        }
    }

    private void step() throws QemuStreamException {
        if (++steps > MAX_STEPS) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.MALFORMED,
                    pos,
                    "the VM description takes more than " + MAX_STEPS + " steps to walk");
        }
    }

    private void skip(long n, String what) throws QemuStreamException {
        if (n > size - pos) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.MALFORMED, pos, what + " (" + n + " bytes) runs past the EOF section");
        }
        pos += n;
    }

    private int u8(String what) throws IOException, QemuStreamException {
        read(1, what);
        return one.get(0) & 0xff;
    }

    private int be32(String what) throws IOException, QemuStreamException {
        read(4, what);
        return one.getInt(0);
    }

    private String name(String what) throws IOException, QemuStreamException {
        int len = u8(what);
        if (len > size - pos) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.MALFORMED, pos - 1, "name of " + len + " bytes runs past the EOF section");
        }
        ByteBuffer b = ByteBuffer.allocate(len);
        file.read(b, pos);
        pos += len;
        return QemuStreamReader.printable(b.array(), 0, len);
    }

    private void read(int n, String what) throws IOException, QemuStreamException {
        if (n > size - pos) {
            throw new QemuStreamException(
                    QemuStreamException.Kind.TRUNCATED,
                    pos,
                    "device state ends before the VM description, inside " + what);
        }
        one.clear().limit(n);
        while (one.hasRemaining()) {
            if (file.read(one, pos + one.position()) < 0) {
                throw new QemuStreamException(QemuStreamException.Kind.TRUNCATED, pos, "file ends inside " + what);
            }
        }
        pos += n;
    }
}
