package dev.ballast.journal;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * A journal's queue file read below Chronicle: mapped read-only at its size on disk, its data
 * documents found by walking Chronicle's excerpt headers from the start of the file.
 *
 * <p>Chronicle Queue lays a cycle file out as excerpts, each a 4-byte little-endian header word
 * followed by its bytes, the next one at the following 4-byte boundary:
 * <pre>
 *   bit 31    not complete (being written; with bit 30, Chronicle's end-of-data marker)
 *   bit 30    metadata (Chronicle's own header and index excerpts; skipped)
 *   bits 0-29 length of the excerpt in bytes
 * </pre>
 * The first excerpt is Chronicle's header, at offset 0; a zero word is where nothing has been
 * written yet. The data excerpts, numbered from 0 in file order, are the journal's documents:
 * their number is the sequence part of the Chronicle index.
 *
 * <p>Reading below Chronicle means that nothing a reader does depends on {@code metadata.cq4t},
 * on Chronicle's index excerpts or on the position Chronicle's header says it last wrote, so a
 * damaged one of those neither stops a reader nor makes it wait; and that a file cut short (copied
 * in part, truncated) is never read past its end: a mapped read past the end of a file is a fault
 * that the JVM reports late and far from its cause.
 */
final class QueueFile implements AutoCloseable {
    static final int NOT_COMPLETE = 0x8000_0000;
    static final int META_DATA = 0x4000_0000;
    static final int LENGTH_MASK = 0x3FFF_FFFF;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Why the walk stopped. */
    enum End {
        /** A zero header word: nothing written after this point. */
        NOTHING_WRITTEN,
        /** A header word marked not complete: the writer died inside this excerpt, or Chronicle's end marker. */
        INCOMPLETE,
        /** The file ends inside this excerpt's header word or bytes: the file was cut. */
        FILE_CUT,
        /** The file ends exactly here. */
        END_OF_FILE
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    /** File offsets of the data documents (their lengths are in the header word before each). */
    private long[] offsets = new long[64];

    private int count;
    private final long end;
    private final End endReason;

    private QueueFile(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        long size = file.byteSize();
        long pos = 0;
        End why;
        while (true) {
            if (pos >= size) {
                why = End.END_OF_FILE;
                break;
            }
            if (pos + Integer.BYTES > size) {
                why = End.FILE_CUT;
                break;
            }
            int header = file.get(INT, pos);
            if (header == 0) {
                why = End.NOTHING_WRITTEN;
                break;
            }
            if ((header & NOT_COMPLETE) != 0) {
                why = End.INCOMPLETE;
                break;
            }
            int length = header & LENGTH_MASK;
            if (pos + Integer.BYTES + length > size) {
                why = End.FILE_CUT;
                break;
            }
            if ((header & META_DATA) == 0) add(pos + Integer.BYTES);
            pos = (pos + Integer.BYTES + length + 3) & ~3L;
        }
        this.end = pos;
        this.endReason = why;
    }

    /** Maps {@code path} read-only and walks it. */
    static QueueFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment segment =
                    size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new QueueFile(path, arena, segment);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private void add(long offset) {
        if (count == offsets.length) offsets = Arrays.copyOf(offsets, count * 2);
        offsets[count++] = offset;
    }

    Path path() {
        return path;
    }

    long size() {
        return file.byteSize();
    }

    /** Data documents found, numbered 0 to {@code documents() - 1}. */
    int documents() {
        return count;
    }

    /** File offset of document {@code seq}'s first byte (after its header word). */
    long offset(long seq) {
        return offsets[(int) seq];
    }

    int length(long seq) {
        return file.get(INT, offsets[(int) seq] - Integer.BYTES) & LENGTH_MASK;
    }

    /** Where the walk stopped: the file offset of the first header word it did not pass. */
    long end() {
        return end;
    }

    End endReason() {
        return endReason;
    }

    /** Copies document {@code seq} into {@code into} from its start; the caller made it large enough. */
    void copy(long seq, byte[] into) {
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, offsets[(int) seq], into, 0, length(seq));
    }

    int getInt(long seq, int at) {
        return file.get(INT, offsets[(int) seq] + at);
    }

    long getLong(long seq, int at) {
        return file.get(LONG, offsets[(int) seq] + at);
    }

    /** The int at file offset {@code at} (the caller keeps it inside the file). */
    int intAt(long at) {
        return file.get(INT, at);
    }

    long longAt(long at) {
        return file.get(LONG, at);
    }

    @Override
    public void close() {
        arena.close();
    }
}
