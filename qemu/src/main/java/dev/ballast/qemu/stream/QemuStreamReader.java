package dev.ballast.qemu.stream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads QEMU 7.2's live-migration stream (x86-64, plain pre-copy) from its first byte to the end of RAM, validating
 * every field, and calls a {@link QemuStreamVisitor} once per record. Layout (all integers big-endian):
 * <pre>
 *   header    be32 magic "QEVM" | be32 version 3 | [0x07 be32 len, machine type]   (no configuration subsection)
 *   section   0x01 START  be32 id, u8 len + idstr, be32 instance, be32 version, payload, 0x7E be32 id
 *             0x02 PART / 0x03 END   be32 id, payload, 0x7E be32 id
 *   RAM setup (START payload)  be64 total|MEM_SIZE, { u8 len + block name, be64 used length }... , be64 EOS
 *             (the list ends when the lengths sum to the total)
 *   RAM data  (PART/END payload)  records, be64 EOS
 *   record    be64 offset|flags, [u8 len + block name unless CONTINUE], ZERO: u8 0 | PAGE: 4096 bytes
 * </pre>
 * RAM ends with its END section; device state (FULL sections) follows with no length field and is not read:
 * {@link #transferRest()} passes it on unexamined. QEMU 10's SWITCHOVER_START command (no payload) passes through.
 * Records and capabilities this reader does not handle (other COMMAND sections, XBZRLE, COMPRESS_PAGE, HOOK, MULTIFD_FLUSH, configuration subsections, iterables other than RAM) are
 * refused, like malformed or truncated input, with one {@link QemuStreamException} naming the byte offset. A record
 * reaches the visitor, and its bytes the {@link ValidatedBytesSink}, only once all of it has been read and checked.
 *
 * <p>Single-threaded and single-use. The hot path (one record per page) allocates nothing and copies nothing: the
 * input is read into one 1 MiB direct buffer (a socket reads straight into it), records are parsed in place, a page
 * is handed to the visitor inside it, blocks are matched on their name bytes, and the validated bytes go to the sink
 * as a view of the same buffer (a relay writes them out from there: one read and one write per chunk).
 */
public final class QemuStreamReader {
    /** x86's TARGET_PAGE_SIZE: the low 12 bits of a record word are flags. */
    public static final int PAGE_SIZE = 4096;

    static final int MAGIC = 0x5145564D;
    static final int VERSION = 3;
    static final int RAM_VERSION = 4;
    /** Bounds that keep the setup record inside the buffer; QEMU machines have tens of blocks. */
    static final int MAX_BLOCKS = 1024;

    static final int MAX_MACHINE_TYPE = 256;
    static final int BUFFER_BYTES = 1 << 20;
    /** The largest record other than RAM's setup: word, name, page. */
    static final int MAX_PAGE_RECORD = 8 + 1 + 255 + PAGE_SIZE;

    // Section types (QEMU_VM_* in savevm.c).
    static final int EOF = 0x00,
            SUBSECTION = 0x05,
            VMDESCRIPTION = 0x06,
            CONFIGURATION = 0x07,
            COMMAND = 0x08,
            FOOTER = 0x7E;
    // RAM record flags (RAM_SAVE_FLAG_* in ram.c).
    static final int F_FULL = 0x01,
            F_ZERO = 0x02,
            F_MEM_SIZE = 0x04,
            F_PAGE = 0x08,
            F_EOS = 0x10,
            F_CONTINUE = 0x20,
            F_XBZRLE = 0x40,
            F_HOOK = 0x80,
            F_COMPRESS_PAGE = 0x100,
            F_MULTIFD_FLUSH = 0x200;
    private static final long FLAG_MASK = PAGE_SIZE - 1;

    private static final String[] COMMANDS = {
        "INVALID",
        "OPEN_RETURN_PATH",
        "PING",
        "POSTCOPY_ADVISE",
        "POSTCOPY_LISTEN",
        "POSTCOPY_RUN",
        "POSTCOPY_RAM_DISCARD",
        "PACKAGED",
        "ENABLE_COLO",
        "POSTCOPY_RESUME",
        "RECV_BITMAP",
        "SWITCHOVER_START"
    };
    /** QEMU 10.0's notification that the switchover starts (machine types 10.0 on); no payload, no effect on RAM. */
    private static final int CMD_SWITCHOVER_START = 11;

    private final ReadableByteChannel in;
    private final ValidatedBytesSink sink;
    /** Direct (big-endian): channels read into it without a copy. Read only with absolute gets. */
    private final ByteBuffer buf;
    /** The sink's view of {@link #buf}: the validated bytes not yet passed on, as position to limit. */
    private final ByteBuffer out;

    private final int capacity;
    /** Free space below which the buffer is compacted before a read. */
    private final int minFree;

    private long base; // stream offset of buf's byte 0
    private int pos; // next byte to parse
    private int limit; // end of the bytes read into buf
    private int recStart; // first byte of the record being parsed
    private int committed; // end of the last validated record
    private int flushed; // end of the bytes handed to the sink

    private boolean started;
    private boolean ramEnded;
    private String machineType;
    private int ramSectionId;
    private boolean ramStarted;
    private long ramTotalBytes;
    private RamBlock[] blocks = new RamBlock[0];
    private RamBlock current;

    private long zeroPages;
    private long normalPages;
    private long partSections;
    private long[] pagesByBlock = new long[0];

    /** @param sink receives the validated raw bytes, or null */
    public QemuStreamReader(ReadableByteChannel in, ValidatedBytesSink sink) {
        this(in, sink, BUFFER_BYTES);
    }

    /** A smaller buffer for tests that run the reader thousands of times. */
    QemuStreamReader(ReadableByteChannel in, ValidatedBytesSink sink, int bufferBytes) {
        if (bufferBytes < 4 * MAX_PAGE_RECORD) {
            throw new IllegalArgumentException("buffer of " + bufferBytes + " bytes is too small");
        }
        this.in = in;
        this.sink = sink;
        this.buf = ByteBuffer.allocateDirect(bufferBytes);
        this.out = buf.duplicate();
        this.capacity = bufferBytes;
        this.minFree = Math.min(64 << 10, bufferBytes / 4);
    }

    public QemuStreamReader(InputStream in, ValidatedBytesSink sink) {
        this(Channels.newChannel(in), sink);
    }

    /**
     * Reads header, configuration and every section up to and including RAM's END, calling {@code visitor} per
     * record. Returns the offset of the first byte after RAM (where device state starts). All validated bytes
     * have been passed to the sink when this returns or throws.
     */
    public long readRam(QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        if (started) {
            throw new IllegalStateException("a QemuStreamReader reads one stream once");
        }
        started = true;
        try {
            return readSections(visitor);
        } catch (QemuStreamException e) {
            flushValidated(); // the records before the refused one are good: the sink has all of them
            throw e;
        }
    }

    private long readSections(QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        readHeader(visitor);
        while (!ramEnded) {
            begin();
            long at = at(pos);
            if (!available(1)) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.TRUNCATED,
                        at,
                        ramStarted ? "stream ends before RAM's END section" : "stream ends before RAM's START section");
            }
            int type = u8();
            switch (type) {
                case 0x01, 0x04 -> startOrFull(at, type, visitor);
                case 0x02, 0x03 -> partOrEnd(at, type == 0x02 ? SectionKind.PART : SectionKind.END, visitor);
                case COMMAND -> command(at);
                case EOF -> throw malformed(at, "EOF section before RAM's END section");
                case SUBSECTION, VMDESCRIPTION, CONFIGURATION, FOOTER ->
                    throw malformed(
                            at, "section type 0x" + hex(type) + " (" + typeName(type) + ") where a section must start");
                default -> throw malformed(at, "unknown section type 0x" + hex(type));
            }
        }
        flushValidated();
        long end = at(committed);
        visitor.onRamEnd(end);
        return end;
    }

    /**
     * After {@link #readRam}, passes every remaining byte (device state, EOF, VM description) to the sink
     * unexamined, until the input ends. Returns the number of bytes passed.
     */
    public long transferRest() throws IOException {
        if (!ramEnded) {
            throw new IllegalStateException("transferRest() comes after readRam()");
        }
        long n = 0;
        while (true) {
            int len = limit - flushed;
            if (len > 0 && sink != null) {
                out.limit(limit).position(flushed);
                sink.accept(out);
            }
            n += len;
            base += limit;
            pos = limit = recStart = committed = flushed = 0;
            buf.clear();
            int r = in.read(buf);
            if (r < 0) {
                return n;
            }
            limit = r;
        }
    }

    /** Offset just past the last validated record. */
    public long position() {
        return at(committed);
    }

    public String machineType() {
        return machineType;
    }

    public long ramTotalBytes() {
        return ramTotalBytes;
    }

    public List<RamBlock> blocks() {
        return List.of(blocks);
    }

    public long zeroPages() {
        return zeroPages;
    }

    public long normalPages() {
        return normalPages;
    }

    public long partSections() {
        return partSections;
    }

    /** ZERO and PAGE records naming {@code block}. */
    public long pages(RamBlock block) {
        return pagesByBlock[block.index()];
    }

    // ---- structure

    private void readHeader(QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        begin();
        need(4, "the stream header");
        int magic = be32();
        if (magic != MAGIC) {
            throw malformed(
                    0,
                    "not a QEMU migration stream (magic 0x" + Integer.toHexString(magic)
                            + ", expected 0x5145564d \"QEVM\")");
        }
        need(4, "the stream header");
        int version = be32();
        if (version == 2) {
            throw unsupported(4, "stream format version 2 (QEMU's old compat format)");
        }
        if (version != VERSION) {
            throw malformed(
                    4, "unknown stream format version " + Integer.toUnsignedString(version) + " (QEMU writes 3)");
        }
        need(1, "the stream header");
        if ((buf.get(pos) & 0xff) == CONFIGURATION) {
            pos++;
            need(4, "the configuration section");
            long lenAt = at(pos);
            int len = be32();
            if (len <= 0 || len > MAX_MACHINE_TYPE) {
                throw malformed(
                        lenAt,
                        "machine type length " + Integer.toUnsignedString(len) + " (1 to " + MAX_MACHINE_TYPE
                                + " accepted)");
            }
            need(len, "the configuration section");
            machineType = new String(bytes(pos, len), StandardCharsets.ISO_8859_1);
            pos += len;
            need(1, "the configuration section");
            if ((buf.get(pos) & 0xff) == SUBSECTION) {
                long subAt = at(pos);
                pos++;
                int nameLen = nameLength("a configuration subsection");
                throw unsupported(
                        subAt,
                        "configuration subsection '" + printable(bytes(pos - nameLen, nameLen), 0, nameLen)
                                + "' (page bits, validated capabilities such as x-ignore-shared, or a uuid)");
            }
        }
        commit();
        visitor.onHeader(0, version, machineType);
    }

    private void startOrFull(long at, int type, QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        String what = type == 0x01 ? "a START section header" : "a FULL section header";
        need(4, what);
        int id = be32();
        int nameLen = nameLength(what);
        int nameFromRecord = pos - nameLen - recStart; // need() may move the buffer: keep it relative
        need(8, what);
        int instance = be32();
        int version = be32();
        int nameOff = recStart + nameFromRecord;
        String name = printable(bytes(nameOff, nameLen), 0, nameLen);
        if (type == 0x04) {
            throw unsupported(
                    at,
                    "device section '" + name + "' (FULL, id " + Integer.toUnsignedString(id)
                            + ") before RAM's END section");
        }
        if (!(nameLen == 3 && buf.get(nameOff) == 'r' && buf.get(nameOff + 1) == 'a' && buf.get(nameOff + 2) == 'm')) {
            throw unsupported(
                    at,
                    "iterable section '" + name + "' (id " + Integer.toUnsignedString(id)
                            + "): only RAM is read (no block migration or dirty bitmaps)");
        }
        if (ramStarted) {
            throw malformed(at, "a second START section for RAM (id " + Integer.toUnsignedString(id) + ")");
        }
        if (instance != 0) {
            throw malformed(at, "RAM section instance " + Integer.toUnsignedString(instance) + " (QEMU has only 0)");
        }
        if (version != RAM_VERSION) {
            throw unsupported(
                    at,
                    "RAM section version " + Integer.toUnsignedString(version)
                            + " (this reader knows version 4, QEMU 7.2)");
        }
        commit();
        ramStarted = true;
        ramSectionId = id;
        visitor.onSectionStart(at, SectionKind.START, id, "ram");
        ramSetup(visitor);
        footer(SectionKind.START, id, at, visitor);
    }

    private void ramSetup(QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        begin();
        long at = at(pos);
        need(8, "RAM's block list");
        long word = be64();
        if ((word & FLAG_MASK) != F_MEM_SIZE) {
            throw malformed(
                    at,
                    "RAM setup starts with flags 0x" + Long.toHexString(word & FLAG_MASK)
                            + ", expected MEM_SIZE (0x4)");
        }
        long total = word & ~FLAG_MASK;
        if (total <= 0) {
            throw malformed(at, "RAM total of 0x" + Long.toHexString(total) + " bytes");
        }
        List<byte[]> names = new ArrayList<>();
        List<Long> lengths = new ArrayList<>();
        long sum = 0;
        while (sum < total) {
            long blockAt = at(pos);
            if (names.size() == MAX_BLOCKS) {
                throw unsupported(blockAt, "more than " + MAX_BLOCKS + " RAM blocks");
            }
            int len = nameLength("RAM's block list");
            byte[] name = bytes(pos - len, len);
            if (len == 0) {
                throw malformed(blockAt, "RAM block with an empty name");
            }
            for (byte[] other : names) {
                if (java.util.Arrays.equals(other, name)) {
                    throw malformed(blockAt, "RAM block '" + printable(name, 0, len) + "' listed twice");
                }
            }
            need(8, "RAM's block list");
            long lengthAt = at(pos);
            long used = be64();
            if (used <= 0 || (used & FLAG_MASK) != 0) {
                throw malformed(
                        lengthAt,
                        "RAM block '" + printable(name, 0, len) + "' used length 0x" + Long.toHexString(used)
                                + " is not a positive multiple of 4096");
            }
            if (used > total - sum) {
                throw malformed(
                        lengthAt,
                        "RAM block '" + printable(name, 0, len) + "' (0x" + Long.toHexString(used)
                                + " bytes) takes the blocks past the total of 0x" + Long.toHexString(total));
            }
            sum += used;
            names.add(name);
            lengths.add(used);
        }
        long eosAt = at(pos);
        need(8, "RAM's block list");
        long eos = be64();
        if (eos != F_EOS) {
            throw malformed(eosAt, "RAM block list ends with 0x" + Long.toHexString(eos) + ", expected EOS (0x10)");
        }
        blocks = new RamBlock[names.size()];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = new RamBlock(i, names.get(i), lengths.get(i));
        }
        pagesByBlock = new long[blocks.length];
        ramTotalBytes = total;
        commit();
        visitor.onRamSetup(at, total, List.of(blocks));
    }

    private void partOrEnd(long at, SectionKind kind, QemuStreamVisitor visitor)
            throws IOException, QemuStreamException {
        need(4, "a " + kind + " section header");
        int id = be32();
        if (!ramStarted || id != ramSectionId) {
            throw malformed(at, kind + " section for id " + Integer.toUnsignedString(id) + ", which no START opened");
        }
        commit();
        if (kind == SectionKind.PART) {
            partSections++;
        }
        visitor.onSectionStart(at, kind, id, "ram");
        ramRecords(visitor);
        footer(kind, id, at, visitor);
        if (kind == SectionKind.END) {
            ramEnded = true;
        }
    }

    private void footer(SectionKind kind, int id, long sectionAt, QemuStreamVisitor visitor)
            throws IOException, QemuStreamException {
        begin();
        long at = at(pos);
        need(5, "a section footer");
        int type = u8();
        if (type != FOOTER) {
            throw malformed(
                    at,
                    "expected the section footer (0x7e) of " + kind + " section " + Integer.toUnsignedString(id)
                            + ", found 0x" + hex(type));
        }
        int footerId = be32();
        if (footerId != id) {
            throw malformed(
                    at,
                    "footer names section " + Integer.toUnsignedString(footerId) + " but closes " + kind + " section "
                            + Integer.toUnsignedString(id));
        }
        commit();
        visitor.onSectionEnd(sectionAt, at(pos), kind, id);
    }

    private void command(long at) throws IOException, QemuStreamException {
        need(4, "a COMMAND section");
        int cmd = be16();
        int len = be16();
        String name = cmd < COMMANDS.length ? COMMANDS[cmd] : "unknown";
        if (cmd == CMD_SWITCHOVER_START) {
            if (len != 0) {
                throw malformed(
                        at, "COMMAND section SWITCHOVER_START (cmd 11) with " + len + " bytes (QEMU sends none)");
            }
            commit(); // passed through: the destination QEMU expects it
            return;
        }
        throw unsupported(
                at,
                "COMMAND section " + name + " (cmd " + cmd + ", " + len
                        + " bytes): return path, postcopy and COLO are not supported");
    }

    // ---- RAM records: the hot path

    private void ramRecords(QemuStreamVisitor visitor) throws IOException, QemuStreamException {
        while (true) {
            begin();
            long at = at(pos);
            need(8, "a RAM record");
            long word = be64();
            int flags = (int) (word & FLAG_MASK);
            long offset = word & ~FLAG_MASK;
            if (flags == F_EOS) {
                if (offset != 0) {
                    throw malformed(at, "EOS record with offset 0x" + Long.toHexString(offset));
                }
                commit();
                return;
            }
            checkFlags(at, flags);
            RamBlock block;
            boolean named = (flags & F_CONTINUE) == 0;
            if (named) {
                int len = nameLength("a RAM record");
                block = findBlock(pos - len, len);
                if (block == null) {
                    throw malformed(
                            at,
                            "RAM block '" + printable(bytes(pos - len, len), 0, len) + "' is not in the setup list");
                }
            } else {
                block = current;
                if (block == null) {
                    throw malformed(at, "CONTINUE record before any block was named");
                }
            }
            if (Long.compareUnsigned(offset, block.usedLength()) >= 0) {
                throw malformed(
                        at,
                        "page offset 0x" + Long.toHexString(offset) + " is past the end of RAM block '" + block.name()
                                + "' (0x" + Long.toHexString(block.usedLength()) + " bytes)");
            }
            if ((flags & F_ZERO) != 0) {
                need(1, "a ZERO record");
                int fill = u8();
                if (fill != 0) {
                    throw malformed(at, "ZERO record fills its page with 0x" + hex(fill) + " (QEMU sends 0)");
                }
                commit();
                current = block;
                zeroPages++;
                pagesByBlock[block.index()]++;
                if (named) {
                    visitor.onBlock(at, block);
                }
                visitor.onZero(at, block, offset);
            } else {
                need(PAGE_SIZE, "a PAGE record");
                int data = pos;
                pos += PAGE_SIZE;
                commit();
                current = block;
                normalPages++;
                pagesByBlock[block.index()]++;
                if (named) {
                    visitor.onBlock(at, block);
                }
                visitor.onPage(at, block, offset, buf, data);
            }
        }
    }

    private static void checkFlags(long at, int flags) throws QemuStreamException {
        int type = flags & ~F_CONTINUE;
        if (type == F_ZERO || type == F_PAGE) {
            return;
        }
        if ((flags & F_XBZRLE) != 0) {
            throw unsupported(at, "XBZRLE page record (capability xbzrle)");
        }
        if ((flags & F_COMPRESS_PAGE) != 0) {
            throw unsupported(at, "COMPRESS_PAGE record (capability compress)");
        }
        if ((flags & F_HOOK) != 0) {
            throw unsupported(at, "HOOK record (RDMA migration)");
        }
        if ((flags & F_MULTIFD_FLUSH) != 0) {
            throw unsupported(at, "MULTIFD_FLUSH record (multifd, QEMU 8.0 and later)");
        }
        if ((flags & ~0x3ff) != 0) {
            throw unsupported(at, "unknown RAM record flags 0x" + Integer.toHexString(flags));
        }
        if ((flags & F_FULL) != 0) {
            throw malformed(at, "obsolete FULL record (flags 0x" + Integer.toHexString(flags) + ")");
        }
        if ((flags & F_MEM_SIZE) != 0) {
            throw malformed(at, "MEM_SIZE record outside RAM's setup (flags 0x" + Integer.toHexString(flags) + ")");
        }
        if ((flags & F_EOS) != 0) {
            throw malformed(at, "EOS combined with other flags (0x" + Integer.toHexString(flags) + ")");
        }
        if (type == 0) {
            throw malformed(at, "RAM record with neither ZERO nor PAGE (flags 0x" + Integer.toHexString(flags) + ")");
        }
        throw malformed(at, "RAM record is both ZERO and PAGE (flags 0x" + Integer.toHexString(flags) + ")");
    }

    private RamBlock findBlock(int off, int len) {
        RamBlock c = current;
        if (c != null && c.nameEquals(buf, off, len)) {
            return c;
        }
        for (RamBlock b : blocks) {
            if (b.nameEquals(buf, off, len)) {
                return b;
            }
        }
        return null;
    }

    // ---- buffer

    private void begin() {
        recStart = pos;
    }

    private void commit() {
        committed = pos;
        recStart = pos;
    }

    private long at(int p) {
        return base + p;
    }

    /** Reads a u8 length and makes sure that many bytes follow; returns the length, pos past the name. */
    private int nameLength(String what) throws IOException, QemuStreamException {
        need(1, what);
        int len = u8();
        need(len, what);
        pos += len;
        return len;
    }

    private void need(int n, String what) throws IOException, QemuStreamException {
        while (limit - pos < n) {
            if (!fill()) {
                throw new QemuStreamException(
                        QemuStreamException.Kind.TRUNCATED,
                        at(recStart),
                        "stream ends at byte " + at(limit) + ", inside " + what);
            }
        }
    }

    private boolean available(int n) throws IOException, QemuStreamException {
        while (limit - pos < n) {
            if (!fill()) {
                return false;
            }
        }
        return true;
    }

    /** Hands validated bytes on, makes room, reads once. False at the end of the input. */
    private boolean fill() throws IOException, QemuStreamException {
        flushValidated();
        if (capacity - limit < minFree) {
            int shift = committed;
            buf.put(0, buf, shift, limit - shift);
            base += shift;
            pos -= shift;
            limit -= shift;
            recStart -= shift;
            committed = 0;
            flushed = 0;
            if (limit == capacity) {
                throw unsupported(at(recStart), "a record longer than the reader's buffer of " + capacity + " bytes");
            }
        }
        while (true) {
            buf.limit(capacity).position(limit);
            int r = in.read(buf);
            if (r < 0) {
                return false;
            }
            if (r > 0) {
                limit += r;
                return true;
            }
        }
    }

    private void flushValidated() throws IOException {
        if (committed > flushed) {
            if (sink != null) {
                out.limit(committed).position(flushed);
                sink.accept(out);
            }
            flushed = committed;
        }
    }

    private int u8() {
        return buf.get(pos++) & 0xff;
    }

    private int be16() {
        int v = buf.getShort(pos) & 0xffff;
        pos += 2;
        return v;
    }

    private int be32() {
        int v = buf.getInt(pos);
        pos += 4;
        return v;
    }

    private long be64() {
        long v = buf.getLong(pos);
        pos += 8;
        return v;
    }

    /** A copy of {@code len} bytes at {@code off} of the buffer (setup and messages, never per page). */
    private byte[] bytes(int off, int len) {
        byte[] b = new byte[len];
        buf.get(off, b);
        return b;
    }

    // ---- messages

    private static QemuStreamException malformed(long at, String detail) {
        return new QemuStreamException(QemuStreamException.Kind.MALFORMED, at, detail);
    }

    private static QemuStreamException unsupported(long at, String detail) {
        return new QemuStreamException(QemuStreamException.Kind.UNSUPPORTED, at, detail);
    }

    private static String hex(int b) {
        return String.format("%02x", b);
    }

    private static String typeName(int type) {
        return switch (type) {
            case SUBSECTION -> "SUBSECTION";
            case VMDESCRIPTION -> "VMDESCRIPTION";
            case CONFIGURATION -> "CONFIGURATION";
            case FOOTER -> "SECTION_FOOTER";
            default -> "?";
        };
    }

    /** Stream bytes for a message: printable ASCII kept, anything else as \xNN. */
    static String printable(byte[] b, int off, int len) {
        StringBuilder s = new StringBuilder(len);
        for (int i = off; i < off + len; i++) {
            int c = b[i] & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
                s.append((char) c);
            } else {
                s.append(String.format("\\x%02x", c));
            }
        }
        return s.toString();
    }
}
