package dev.ballast.core.wire;

import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * An independent model of {@code docs/wire-protocol.md} (version 5, postcopy included), written from the document
 * alone: every offset, bound and rule below is re-read from its diagrams and tables, none is taken
 * from {@link WireFormat}, {@link RecordType}, {@link StreamDigest}, the reader or the writer. It
 * encodes records ({@link Enc}) and judges a stream as a destination without a secret must
 * ({@link #judge}): accepted, or rejected at which record offset with which reasons (every rule the
 * first bad record breaks: where a record breaks several, the document does not say which one a
 * reader names first), and the calls a destination applies before that, in the same words as
 * {@link Log}.
 */
final class WireModel {
    private WireModel() {}

    // The protocol's numbers, as the document states them.
    static final int MAGIC = 0xBA11, VERSION = 6, PAGE = 4096;
    static final int HELLO = 1,
            HELLO_ACK = 2,
            PAGES = 3,
            FILL = 4,
            BALLOON = 5,
            ITERATION_END = 6,
            COMPLETE = 7,
            COMPLETE_ACK = 8,
            ERROR = 9,
            AUTH_INIT = 10,
            AUTH_CHALLENGE = 11,
            AUTH_RESPONSE = 12,
            STATE = 13,
            DISCARD = 14,
            BALLOON_BITMAP = 15,
            SWITCH_OVER = 16,
            PAGE_REQUEST = 17,
            SWITCH_OVER_ACK = 18;
    /** HELLO's flag bit 0. */
    static final int RECOVER = 1;

    static final long TWO_52 = 1L << 52;

    /** The "record length (header included)" column of the document's table: min, max, step. */
    static boolean lengthFits(int type, long len) {
        return switch (type) {
            case HELLO -> len >= 42 && len <= 69_656;
            case HELLO_ACK -> len >= 24 && len <= 1_573_912;
            case PAGES -> len >= 24 + PAGE && len <= 24 + 1024L * PAGE && (len - 24) % PAGE == 0;
            case FILL -> len == 32;
            case BALLOON -> len >= 24 + 16 && len <= 24 + 16L * 65536 && (len - 24) % 16 == 0;
            case ITERATION_END -> len == 16;
            case COMPLETE -> len == 32;
            case COMPLETE_ACK -> len >= 40 && len <= 1064;
            case ERROR -> len >= 16 && len <= 1040;
            case AUTH_INIT, AUTH_RESPONSE -> len == 48;
            case AUTH_CHALLENGE -> len == 80;
            case STATE -> len >= 33 && len <= 1_048_608;
            case DISCARD -> len >= 24 + 16 && len <= 24 + 16L * 65536 && (len - 24) % 16 == 0;
            case BALLOON_BITMAP -> len >= 33 && len <= 1_048_608;
            case SWITCH_OVER -> len == 24;
            case PAGE_REQUEST -> len == 32;
            case SWITCH_OVER_ACK -> len == 16;
            default -> false;
        };
    }

    /** Travels from the source to the destination (ERROR goes both ways). */
    static boolean toDestination(int type) {
        return type != HELLO_ACK
                && type != COMPLETE_ACK
                && type != AUTH_CHALLENGE
                && type != PAGE_REQUEST
                && type != SWITCH_OVER_ACK;
    }

    // ------------------------------------------------------------------ the digest (version 3)

    static long avalanche(long h) {
        h ^= h >>> 33;
        h *= 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0x165667B19E3779F9L;
        h ^= h >>> 32;
        return h;
    }

    static final class Digest {
        long d, records, bytes;

        void fold(byte[] s, int from, int len) {
            CRC32C c = new CRC32C();
            c.update(s, from, len);
            d = avalanche(d ^ ((long) len << 32 | c.getValue()));
            records++;
            bytes += len;
        }
    }

    // ------------------------------------------------------------------ encoder

    /** Builds records as the document draws them; folds into the digest what a source folds. */
    static final class Enc {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final Digest digest = new Digest();

        private static ByteBuffer rec(int type, int flags, int length) {
            ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
            b.putShort((short) MAGIC).put((byte) type).put((byte) flags).putInt(length - 8);
            return b;
        }

        Enc emit(ByteBuffer b, boolean folded) {
            byte[] r = b.array();
            if (folded) digest.fold(r, 0, r.length);
            out.writeBytes(r);
            return this;
        }

        Enc hello(int version, int poison, long session, RamLayout sourceOrder) {
            return hello(0, version, poison, session, sourceOrder);
        }

        Enc hello(int flags, int version, int poison, long session, RamLayout sourceOrder) {
            int len = 24;
            for (RamBlock bl : sourceOrder.blocks()) len += 17 + bl.name().getBytes(StandardCharsets.UTF_8).length;
            ByteBuffer b = rec(HELLO, flags, len);
            b.putShort((short) version)
                    .put((byte) poison)
                    .put((byte) 0)
                    .putInt(sourceOrder.blockCount())
                    .putLong(session);
            for (RamBlock bl : sourceOrder.blocks()) {
                byte[] n = bl.name().getBytes(StandardCharsets.UTF_8);
                b.putLong(bl.firstPfn())
                        .putLong(bl.pages())
                        .put((byte) n.length)
                        .put(n);
            }
            return emit(b, true);
        }

        Enc pages(int block, long offset, byte[] data) {
            int n = data.length / PAGE;
            ByteBuffer b = rec(PAGES, 0, 24 + data.length);
            b.putInt(block).putInt(n).putLong(offset).put(data);
            return emit(b, true);
        }

        Enc fill(int block, long offset, long count, int fill) {
            ByteBuffer b = rec(FILL, 0, 32);
            b.putInt(block).put((byte) fill).put(new byte[3]).putLong(offset).putLong(count);
            return emit(b, true);
        }

        Enc balloon(int block, boolean in, long... offsetCountPairs) {
            int n = offsetCountPairs.length / 2;
            ByteBuffer b = rec(BALLOON, 0, 24 + 16 * n);
            b.putInt(block).put((byte) (in ? 1 : 0)).put(new byte[3]).putInt(n).putInt(0);
            for (long v : offsetCountPairs) b.putLong(v);
            return emit(b, true);
        }

        Enc iterationEnd(int iteration) {
            ByteBuffer b = rec(ITERATION_END, 0, 16);
            b.putInt(iteration).putInt(0);
            return emit(b, true);
        }

        Enc state(int section, long offset, long total, byte[] chunk) {
            ByteBuffer b = rec(STATE, 0, 32 + chunk.length);
            b.putInt(section).putInt(0).putLong(offset).putLong(total).put(chunk);
            return emit(b, true);
        }

        Enc discard(int block, long... offsetCountPairs) {
            int n = offsetCountPairs.length / 2;
            ByteBuffer b = rec(DISCARD, 0, 24 + 16 * n);
            b.putInt(block).putInt(0).putInt(n).putInt(0);
            for (long v : offsetCountPairs) b.putLong(v);
            return emit(b, true);
        }

        /** BALLOON_BITMAP of pages [offset, offset + in.length), bit k of byte j for page offset + 8j + k. */
        Enc bitmap(int block, long offset, boolean[] in) {
            int bytes = (in.length + 7) / 8;
            ByteBuffer b = rec(BALLOON_BITMAP, 0, 32 + bytes);
            b.putInt(block).putInt(0).putLong(offset).putLong(in.length);
            byte[] bits = new byte[bytes];
            for (int i = 0; i < in.length; i++) if (in[i]) bits[i / 8] |= (byte) (1 << (i % 8));
            b.put(bits);
            return emit(b, true);
        }

        Enc switchOver(long discarded) {
            return switchOver(discarded, 1, 0);
        }

        /** A SWITCH_OVER stating the source's pace: requests a step, and a step's link time in µs. */
        Enc switchOver(long discarded, int requestsPerStep, int stepMicros) {
            ByteBuffer b = rec(SWITCH_OVER, 0, 24);
            b.putLong(discarded).putInt(requestsPerStep).putInt(stepMicros);
            return emit(b, true);
        }

        /** A PAGE_REQUEST, as a destination sends it (the source's block id). */
        Enc pageRequest(int block, long offset, long count) {
            ByteBuffer b = rec(PAGE_REQUEST, 0, 32);
            b.putInt(block).putInt(0).putLong(offset).putLong(count);
            return emit(b, false);
        }

        Enc error(int code, String message) {
            byte[] m = message.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = rec(ERROR, 0, 16 + m.length);
            b.putShort((short) code).putShort((short) m.length).putInt(0).put(m);
            return emit(b, true);
        }

        Enc authInit(byte[] nonce) {
            ByteBuffer b = rec(AUTH_INIT, 0, 48);
            b.putShort((short) 1).putShort((short) 0).putInt(0).put(nonce);
            return emit(b, false);
        }

        Enc authResponse(byte[] proof) {
            ByteBuffer b = rec(AUTH_RESPONSE, 0, 48);
            b.putShort((short) 1).putShort((short) 0).putInt(0).put(proof);
            return emit(b, false);
        }

        /** COMPLETE carrying this encoder's digest, record count and byte count. */
        Enc complete() {
            ByteBuffer b = rec(COMPLETE, 0, 32);
            b.putLong(digest.d).putLong(digest.records).putLong(digest.bytes);
            return emit(b, false);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** The stream with its last record, a COMPLETE, sealed again with the model's digest of everything before it. */
    static byte[] resealed(byte[] s) {
        List<int[]> recs = frame(s);
        if (recs.isEmpty()) return s;
        int[] last = recs.getLast();
        if (last[0] + last[1] != s.length || last[2] != COMPLETE || last[1] != 32) return s;
        Digest d = new Digest();
        for (int[] r : recs) {
            if (r != last && r[2] != AUTH_INIT && r[2] != AUTH_RESPONSE) d.fold(s, r[0], r[1]);
        }
        byte[] c = s.clone();
        ByteBuffer b = ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(last[0] + 8, d.d).putLong(last[0] + 16, d.records).putLong(last[0] + 24, d.bytes);
        return c;
    }

    /** (start, length, type) of each whole record the headers frame. */
    static List<int[]> frame(byte[] s) {
        List<int[]> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        int p = 0;
        while (p + 8 <= s.length) {
            long len = 8 + Integer.toUnsignedLong(b.getInt(p + 4));
            if (p + len > s.length) break;
            out.add(new int[] {p, (int) len, s[p + 2] & 0xFF});
            p += (int) len;
        }
        return out;
    }

    // ------------------------------------------------------------------ the destination's calls, in words

    /** The words both the model and a recording sink use for what a destination applies. */
    static final class Log {
        static String open(int poison, long session) {
            return "open poison " + poison + " session " + session;
        }

        static String pages(String block, long offset, int count, long crc) {
            return "pages " + block + "+" + offset + " x" + count + " crc " + Long.toHexString(crc);
        }

        static String fill(String block, long offset, long count, int fill) {
            return "fill " + block + "+" + offset + " x" + count + " =" + fill;
        }

        static String balloon(String block, long offset, long count, boolean in) {
            return "balloon " + block + "+" + offset + " x" + count + (in ? " in" : " out");
        }

        static String iteration(int n) {
            return "iteration " + n;
        }

        static String state(int section, long total, long offset, int n, long crc) {
            return "state " + section + "/" + total + " @" + offset + " x" + n + " crc " + Long.toHexString(crc);
        }

        static String complete() {
            return "complete";
        }

        static String recover(long session) {
            return "recover session " + session;
        }

        static String discard(String block, long offset, long count) {
            return "discard " + block + "+" + offset + " x" + count;
        }

        static String bitmap(String block, long offset, long count, boolean in) {
            return "bitmap " + block + "+" + offset + " x" + count + (in ? " in" : " out");
        }

        static String switchOver() {
            return "switch-over";
        }

        static String pace(int requestsPerStep, long stepNs) {
            return "pace " + requestsPerStep + " requests, " + stepNs + " ns a step";
        }

        static long crc(ByteBuffer b) {
            CRC32 c = new CRC32();
            c.update(b.duplicate());
            return c.getValue();
        }

        static long crc(byte[] s, int from, int len) {
            CRC32 c = new CRC32();
            c.update(s, from, len);
            return c.getValue();
        }
    }

    // ------------------------------------------------------------------ the judge

    /** What a destination must do with a stream. */
    record Expect(boolean accepted, long offset, Set<Reason> reasons, List<String> log) {
        @Override
        public String toString() {
            return accepted ? "accepted" : "rejected at " + offset + " with one of " + reasons;
        }
    }

    private static long u64(ByteBuffer b, int at) {
        return b.getLong(at);
    }

    private static long u32(ByteBuffer b, int at) {
        return Integer.toUnsignedLong(b.getInt(at));
    }

    private static int u16(ByteBuffer b, int at) {
        return Short.toUnsignedInt(b.getShort(at));
    }

    private static int u8(ByteBuffer b, int at) {
        return Byte.toUnsignedInt(b.get(at));
    }

    /** [offset, offset + count) lies inside a block of {@code pages}, for u64 values taken unsigned. */
    private static boolean inside(long offset, long count, long pages) {
        return Long.compareUnsigned(offset, pages) < 0 && Long.compareUnsigned(count, pages - offset) <= 0;
    }

    private static boolean utf8(byte[] s, int from, int len) {
        try {
            StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(s, from, len));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /** Judges {@code s} as a destination of layout {@code dest}, with no secret and no postcopy migration to recover, must. */
    static Expect judge(byte[] s, RamLayout dest) {
        return judge(s, dest, false);
    }

    /**
     * Judges {@code s} as a destination of layout {@code dest} with no secret must; where
     * {@code recoverable}, its guest runs here after a postcopy switch-over of any session, lacking every
     * page, so that it accepts a HELLO flagged RECOVER (and reports every page lacking, as it reports
     * every page missing to a HELLO without it).
     */
    static Expect judge(byte[] s, RamLayout dest, boolean recoverable) {
        ByteBuffer b = ByteBuffer.wrap(s).order(ByteOrder.LITTLE_ENDIAN);
        List<String> log = new ArrayList<>();
        Digest digest = new Digest();
        String[] names = null; // wire block id -> name, after HELLO
        long[] sizes = null;
        boolean complete = false;
        int lastIteration = 0;
        Set<Integer> sectionsDone = new HashSet<>();
        int section = 0; // the section in progress, 0: none
        long sectionTotal = 0, sectionAt = 0;
        boolean postcopy = false; // after SWITCH_OVER or a HELLO flagged RECOVER
        Held[] held = null; // pages the destination holds, by wire block: none at HELLO (it reports all missing)
        long discarded = 0;
        int p = 0;
        while (true) {
            EnumSet<Reason> why = EnumSet.noneOf(Reason.class);
            if (complete) {
                if (p == s.length) return new Expect(true, -1, Set.of(), log);
                return new Expect(false, p, EnumSet.of(Reason.UNEXPECTED_RECORD), log);
            }
            if (p == s.length) return new Expect(false, p, EnumSet.of(Reason.TRUNCATED), log);
            // The header, from the header alone.
            int avail = s.length - p;
            if (avail >= 2 && u16(b, p) != MAGIC) why.add(Reason.BAD_MAGIC);
            int type = avail >= 3 ? u8(b, p + 2) : -1;
            boolean known = type >= 1 && type <= 18;
            if (avail >= 3 && !known) why.add(Reason.UNKNOWN_TYPE);
            if (known && !toDestination(type)) why.add(Reason.UNEXPECTED_RECORD);
            int allowedFlags = type == HELLO ? RECOVER : 0;
            if (known && avail >= 4 && (u8(b, p + 3) & ~allowedFlags) != 0) why.add(Reason.BAD_FLAGS);
            long len = avail >= 8 ? 8 + u32(b, p + 4) : -1;
            if (known && len >= 0 && !lengthFits(type, len)) why.add(Reason.BAD_LENGTH);
            // Where the record may come.
            if (known) {
                if (type == AUTH_INIT || type == AUTH_RESPONSE) {
                    why.add(Reason.AUTH_FAILED);
                    if (names != null) why.add(Reason.UNEXPECTED_RECORD);
                } else if (type == ERROR) why.add(Reason.PEER_ERROR);
                else if (type == HELLO && names != null) why.add(Reason.UNEXPECTED_RECORD);
                else if (type != HELLO && names == null) why.add(Reason.UNEXPECTED_RECORD);
                else if (postcopy
                        && (type == DISCARD || type == BALLOON_BITMAP || type == STATE || type == SWITCH_OVER))
                    why.add(Reason.UNEXPECTED_RECORD);
            }
            if (avail < 8 || (why.isEmpty() && p + len > s.length)) {
                why.add(Reason.TRUNCATED);
                return new Expect(false, p, why, log);
            }
            if (!why.isEmpty() && !(type == ERROR && why.equals(EnumSet.of(Reason.PEER_ERROR)))) {
                if (p + len > s.length) why.add(Reason.TRUNCATED);
                return new Expect(false, p, why, log);
            }
            if (p + len > s.length) {
                why.add(Reason.TRUNCATED);
                return new Expect(false, p, why, log);
            }
            int n = (int) len;
            List<String> effects = new ArrayList<>();
            switch (type) {
                case HELLO -> {
                    if (u16(b, p + 8) != VERSION) {
                        return new Expect(false, p, EnumSet.of(Reason.UNSUPPORTED_VERSION), log);
                    }
                    int poison = u8(b, p + 10);
                    if (u8(b, p + 11) != 0) why.add(Reason.BAD_FIELD);
                    long count = u32(b, p + 12);
                    long session = u64(b, p + 16);
                    if (count < 1 || count > 256) {
                        why.add(Reason.BAD_LAYOUT);
                        why.add(Reason.BAD_COUNT);
                    }
                    List<String> ns = new ArrayList<>();
                    List<long[]> ranges = new ArrayList<>();
                    int q = p + 24;
                    for (long i = 0; i < Math.min(count, 257); i++) {
                        if (q + 17 > p + n) {
                            why.add(Reason.BAD_LENGTH);
                            break;
                        }
                        long first = u64(b, q), pages = u64(b, q + 8);
                        int nl = u8(b, q + 16);
                        if (nl == 0) {
                            why.add(Reason.BAD_LAYOUT);
                            why.add(Reason.BAD_LENGTH);
                        }
                        if (q + 17 + nl > p + n) {
                            why.add(Reason.BAD_LENGTH);
                            break;
                        }
                        String name = null;
                        if (!utf8(s, q + 17, nl)) why.add(Reason.BAD_FIELD);
                        else name = new String(s, q + 17, nl, StandardCharsets.UTF_8);
                        if (name != null && (name.isEmpty() || name.length() > 64 || ns.contains(name)))
                            why.add(Reason.BAD_LAYOUT);
                        if (pages == 0 || first < 0 || pages < 0 || first > TWO_52 || pages > TWO_52 - first)
                            why.add(Reason.BAD_LAYOUT);
                        for (long[] r : ranges) if (first < r[1] && r[0] < first + pages) why.add(Reason.BAD_LAYOUT);
                        ns.add(name);
                        ranges.add(new long[] {first, first + pages});
                        q += 17 + nl;
                    }
                    if (why.isEmpty() && q != p + n) why.add(Reason.BAD_LENGTH);
                    if (!why.isEmpty()) return new Expect(false, p, why, log);
                    // The same blocks, by name, first PFN and size, in any order.
                    boolean same = ns.size() == dest.blockCount();
                    for (int i = 0; same && i < ns.size(); i++) {
                        RamBlock d = dest.blockNamed(ns.get(i));
                        same = d != null
                                && d.firstPfn() == ranges.get(i)[0]
                                && d.pages() == ranges.get(i)[1] - ranges.get(i)[0];
                    }
                    if (!same) return new Expect(false, p, EnumSet.of(Reason.LAYOUT_MISMATCH), log);
                    boolean recover = (u8(b, p + 3) & RECOVER) != 0;
                    if (recover && !recoverable) return new Expect(false, p, EnumSet.of(Reason.REFUSED), log);
                    names = ns.toArray(String[]::new);
                    sizes = ranges.stream().mapToLong(r -> r[1] - r[0]).toArray();
                    held = new Held[names.length];
                    for (int i = 0; i < names.length; i++) held[i] = new Held();
                    effects.add(recover ? Log.recover(session) : Log.open(poison, session));
                    if (recover) {
                        postcopy = true;
                        effects.add(Log.switchOver());
                    }
                }
                case PAGES -> {
                    long block = u32(b, p + 8), count = u32(b, p + 12), off = u64(b, p + 16);
                    if (block >= names.length) why.add(Reason.UNKNOWN_BLOCK);
                    if (count < 1 || count > 1024) why.add(Reason.BAD_COUNT);
                    else if (n != 24 + count * PAGE) why.add(Reason.BAD_LENGTH);
                    if (count >= 1 && count <= 1024 && n != 24 + count * PAGE) why.add(Reason.BAD_LENGTH);
                    if (block < names.length && !inside(off, count, sizes[(int) block])) why.add(Reason.OUT_OF_RANGE);
                    if (why.isEmpty() && postcopy && held[(int) block].any(off, count)) why.add(Reason.PLACED_TWICE);
                    if (why.isEmpty()) {
                        effects.add(Log.pages(names[(int) block], off, (int) count, Log.crc(s, p + 24, n - 24)));
                        held[(int) block].set(off, count, true);
                    }
                }
                case FILL -> {
                    long block = u32(b, p + 8), off = u64(b, p + 16), count = u64(b, p + 24);
                    int fill = u8(b, p + 12);
                    if (block >= names.length) why.add(Reason.UNKNOWN_BLOCK);
                    if (u8(b, p + 13) != 0 || u8(b, p + 14) != 0 || u8(b, p + 15) != 0) why.add(Reason.BAD_FIELD);
                    if (count == 0 || Long.compareUnsigned(count, TWO_52) > 0) why.add(Reason.BAD_COUNT);
                    if (block < names.length && !inside(off, count, sizes[(int) block])) why.add(Reason.OUT_OF_RANGE);
                    if (why.isEmpty() && postcopy && held[(int) block].any(off, count)) why.add(Reason.PLACED_TWICE);
                    if (why.isEmpty()) {
                        effects.add(Log.fill(names[(int) block], off, count, fill));
                        held[(int) block].set(off, count, true);
                    }
                }
                case BALLOON -> {
                    long block = u32(b, p + 8), count = u32(b, p + 16);
                    int op = u8(b, p + 12);
                    if (block >= names.length) why.add(Reason.UNKNOWN_BLOCK);
                    if (op > 1) why.add(Reason.BAD_FIELD);
                    if (u8(b, p + 13) != 0 || u8(b, p + 14) != 0 || u8(b, p + 15) != 0 || b.getInt(p + 20) != 0)
                        why.add(Reason.BAD_FIELD);
                    if (count < 1 || count > 65536) why.add(Reason.BAD_COUNT);
                    if (n != 24 + 16 * count) why.add(Reason.BAD_LENGTH);
                    long prevEnd = 0;
                    for (int i = 0; i < (n - 24) / 16; i++) {
                        long off = u64(b, p + 24 + 16 * i), c = u64(b, p + 32 + 16 * i);
                        if (c == 0 || Long.compareUnsigned(c, TWO_52) > 0) why.add(Reason.BAD_COUNT);
                        if (block < names.length && !inside(off, c, sizes[(int) block])) why.add(Reason.OUT_OF_RANGE);
                        if (i > 0 && Long.compareUnsigned(off, prevEnd) < 0) why.add(Reason.UNORDERED_RANGES);
                        prevEnd = off + c;
                        if (block < names.length) effects.add(Log.balloon(names[(int) block], off, c, op == 1));
                    }
                }
                case ITERATION_END -> {
                    long it = u32(b, p + 8);
                    if (b.getInt(p + 12) != 0) why.add(Reason.BAD_FIELD);
                    if (it <= lastIteration || it > Integer.MAX_VALUE) why.add(Reason.BAD_ITERATION);
                    if (why.isEmpty()) {
                        lastIteration = (int) it;
                        effects.add(Log.iteration((int) it));
                    }
                }
                case STATE -> {
                    long sec = u32(b, p + 8), off = u64(b, p + 16), total = u64(b, p + 24);
                    int chunk = n - 32;
                    if (sec < 1 || sec > 255) why.add(Reason.BAD_FIELD);
                    if (b.getInt(p + 12) != 0) why.add(Reason.BAD_FIELD);
                    if (total < 1 || total > (1L << 30)) why.add(Reason.BAD_COUNT);
                    else if (!inside(off, chunk, total)) why.add(Reason.OUT_OF_RANGE);
                    if (why.isEmpty()) {
                        if (sectionsDone.contains((int) sec)) why.add(Reason.UNEXPECTED_RECORD);
                        else if (section == 0) {
                            if (off != 0) why.add(Reason.UNORDERED_RANGES);
                        } else if (sec != section) {
                            why.add(Reason.UNORDERED_RANGES);
                        } else {
                            if (total != sectionTotal) why.add(Reason.BAD_FIELD);
                            if (off != sectionAt) why.add(Reason.UNORDERED_RANGES);
                        }
                    }
                    if (why.isEmpty()) {
                        section = (int) sec;
                        sectionTotal = total;
                        sectionAt = off + chunk;
                        if (sectionAt == total) {
                            sectionsDone.add(section);
                            section = 0;
                        }
                        effects.add(Log.state((int) sec, total, off, chunk, Log.crc(s, p + 32, chunk)));
                    }
                }
                case DISCARD -> {
                    long block = u32(b, p + 8), count = u32(b, p + 16);
                    if (block >= names.length) why.add(Reason.UNKNOWN_BLOCK);
                    if (b.getInt(p + 12) != 0 || b.getInt(p + 20) != 0) why.add(Reason.BAD_FIELD);
                    if (count < 1 || count > 65536) why.add(Reason.BAD_COUNT);
                    if (n != 24 + 16 * count) why.add(Reason.BAD_LENGTH);
                    long prevEnd = 0, pages = 0;
                    List<long[]> drop = new ArrayList<>();
                    for (int i = 0; i < (n - 24) / 16; i++) {
                        long off = u64(b, p + 24 + 16 * i), c = u64(b, p + 32 + 16 * i);
                        if (c == 0 || Long.compareUnsigned(c, TWO_52) > 0) why.add(Reason.BAD_COUNT);
                        if (block < names.length && !inside(off, c, sizes[(int) block])) why.add(Reason.OUT_OF_RANGE);
                        if (i > 0 && Long.compareUnsigned(off, prevEnd) < 0) why.add(Reason.UNORDERED_RANGES);
                        prevEnd = off + c;
                        pages += c;
                        if (block < names.length) effects.add(Log.discard(names[(int) block], off, c));
                        drop.add(new long[] {off, c});
                    }
                    if (why.isEmpty()) {
                        discarded += pages;
                        for (long[] d : drop) held[(int) block].set(d[0], d[1], false);
                    }
                }
                case BALLOON_BITMAP -> {
                    long block = u32(b, p + 8), off = u64(b, p + 16), count = u64(b, p + 24);
                    if (block >= names.length) why.add(Reason.UNKNOWN_BLOCK);
                    if (b.getInt(p + 12) != 0) why.add(Reason.BAD_FIELD);
                    if (count < 1 || count > (1L << 23)) why.add(Reason.BAD_COUNT);
                    else {
                        if (n != 32 + (count + 7) / 8) why.add(Reason.BAD_LENGTH);
                        else if (count % 8 != 0 && (u8(b, p + n - 1) >> (count % 8)) != 0) why.add(Reason.BAD_FIELD);
                        if (block < names.length && !inside(off, count, sizes[(int) block]))
                            why.add(Reason.OUT_OF_RANGE);
                    }
                    if (why.isEmpty()) {
                        // runs of one value, in page order
                        long i = 0;
                        while (i < count) {
                            boolean in = (s[p + 32 + (int) (i / 8)] >> (i % 8) & 1) == 1;
                            long j = i;
                            while (j < count && ((s[p + 32 + (int) (j / 8)] >> (j % 8) & 1) == 1) == in) j++;
                            effects.add(Log.bitmap(names[(int) block], off + i, j - i, in));
                            i = j;
                        }
                    }
                }
                case SWITCH_OVER -> {
                    // version 6: the source's pace, at least 1 request a step, a step's time in µs (any)
                    long requestsPerStep = u32(b, p + 16);
                    if (requestsPerStep < 1 || requestsPerStep > Integer.MAX_VALUE) why.add(Reason.BAD_FIELD);
                    if (u64(b, p + 8) != discarded) why.add(Reason.BAD_COUNT);
                    if (section != 0) why.add(Reason.BAD_LENGTH);
                    if (why.isEmpty()) {
                        postcopy = true;
                        effects.add(Log.pace((int) requestsPerStep, u32(b, p + 20) * 1000));
                        effects.add(Log.switchOver());
                    }
                }
                case COMPLETE -> {
                    if (section != 0) why.add(Reason.BAD_LENGTH);
                    if (u64(b, p + 8) != digest.d
                            || u64(b, p + 16) != digest.records
                            || u64(b, p + 24) != digest.bytes) {
                        why.add(Reason.DIGEST_MISMATCH);
                    }
                    if (why.isEmpty()) {
                        complete = true;
                        // Nothing may follow; a reader that cannot see bytes that have arrived already finds them after
                        // COMPLETE_ACK.
                        if (p + n == s.length) effects.add(Log.complete());
                    }
                }
                case ERROR -> {
                    int ml = u16(b, p + 10);
                    if (16 + ml != n) why.add(Reason.BAD_LENGTH);
                    if (b.getInt(p + 12) != 0) why.add(Reason.BAD_FIELD);
                    if (16 + ml == n && !utf8(s, p + 16, ml)) why.add(Reason.BAD_FIELD);
                }
                default -> throw new AssertionError("type " + type);
            }
            if (!why.isEmpty()) return new Expect(false, p, why, log);
            log.addAll(effects);
            if (type != COMPLETE) digest.fold(s, p, n);
            p += n;
        }
    }

    /**
     * Judges one record of the return direction as a source must after SWITCH_OVER, for a handshake
     * of blocks of {@code blockPages}: the reasons it breaks (empty: a valid PAGE_REQUEST). The type
     * is taken as PAGE_REQUEST's.
     */
    static Set<Reason> judgeRequest(byte[] r, long[] blockPages) {
        ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        EnumSet<Reason> why = EnumSet.noneOf(Reason.class);
        if (u16(b, 0) != MAGIC) why.add(Reason.BAD_MAGIC);
        if (u8(b, 3) != 0) why.add(Reason.BAD_FLAGS);
        if (8 + u32(b, 4) != 32) why.add(Reason.BAD_LENGTH);
        if (!why.isEmpty() || r.length != 32) return why;
        long block = u32(b, 8), off = u64(b, 16), count = u64(b, 24);
        if (b.getInt(12) != 0) why.add(Reason.BAD_FIELD);
        if (block >= blockPages.length) why.add(Reason.UNKNOWN_BLOCK);
        if (count < 1 || count > 1024) why.add(Reason.BAD_COUNT);
        if (block < blockPages.length && !inside(off, count, blockPages[(int) block])) why.add(Reason.OUT_OF_RANGE);
        return why;
    }

    /**
     * The pages of one block the destination holds, as disjoint ranges (a block may have 2^52 pages): start to end,
     * exclusive.
     */
    private static final class Held {
        private final java.util.TreeMap<Long, Long> ranges = new java.util.TreeMap<>();

        boolean any(long off, long count) {
            var below = ranges.lowerEntry(off + count);
            return below != null && below.getValue() > off;
        }

        void set(long off, long count, boolean held) {
            long end = off + count;
            // cut [off, end) out of every range, keeping what lies outside it
            var left = ranges.lowerEntry(off);
            if (left != null && left.getValue() > off) {
                ranges.put(left.getKey(), off);
                if (left.getValue() > end) ranges.put(end, left.getValue());
            }
            for (var e = ranges.ceilingEntry(off); e != null && e.getKey() < end; e = ranges.ceilingEntry(off)) {
                ranges.remove(e.getKey());
                if (e.getValue() > end) ranges.put(end, e.getValue());
            }
            if (held) ranges.put(off, end);
        }
    }

    /** Wire block names to the destination's own, for a sink that logs by name. */
    static Map<Integer, String> namesOf(RamLayout layout) {
        Map<Integer, String> m = new HashMap<>();
        for (RamBlock bl : layout.blocks()) m.put(bl.index(), bl.name());
        return m;
    }
}
