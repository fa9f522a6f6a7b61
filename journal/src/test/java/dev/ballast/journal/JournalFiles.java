package dev.ballast.journal;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: finds documents in a journal's queue file and damages them. */
final class JournalFiles {
    private JournalFiles() {}

    static Path queueFile(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cq4"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    /** File offsets of the documents of the given kind (offset of the kind field, after Chronicle's 4-byte header). */
    static List<Long> documentOffsets(Path dir, int kind) throws IOException {
        List<Long> offsets = new ArrayList<>();
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "r")) {
            byte[] buf = new byte[1 << 20];
            long base = 0;
            long length = f.length();
            while (base < length) {
                f.seek(base);
                int n = f.read(buf);
                if (n <= 0) break;
                for (int i = 0; i + 4 <= n; i += 4) { // documents are 4-byte aligned
                    if (RecordDescriptor.getInt(buf, i) == kind) offsets.add(base + i);
                }
                base += n - 4 - (n % 4);
                if (n < buf.length) break;
            }
        }
        return offsets.stream().distinct().toList();
    }

    static void xorByte(Path dir, long offset, int mask) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ mask);
        }
    }

    static int readInt(Path dir, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "r")) {
            f.seek(offset);
            return Integer.reverseBytes(f.readInt());
        }
    }

    static void writeInt(Path dir, long offset, int value) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "rw")) {
            f.seek(offset);
            f.writeInt(Integer.reverseBytes(value));
        }
    }

    /** Recomputes the checksum of the document whose kind field is at {@code offset}, as a forger would. */
    static void fixChecksum(Path dir, long offset) throws IOException {
        int length = readInt(dir, offset - 4) & 0x3FFF_FFFF;
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "rw")) {
            byte[] doc = new byte[length];
            f.seek(offset);
            f.readFully(doc);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(doc, JournalFormat.CHECKED_OFFSET, length - JournalFormat.CHECKED_OFFSET);
            f.seek(offset + JournalFormat.CRC_OFFSET);
            f.writeInt(Integer.reverseBytes((int) crc.getValue()));
        }
    }

    static byte[] read(Path dir, long offset, int length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "r")) {
            byte[] b = new byte[length];
            f.seek(offset);
            f.readFully(b);
            return b;
        }
    }

    static void write(Path dir, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        }
    }

    static void truncate(Path dir, long length) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(queueFile(dir).toFile(), "rw")) {
            f.setLength(length);
        }
    }

    /** A batch document in the queue file: where its kind field is, and the events it holds. */
    record Batch(long offset, long first, int count) {}

    /** The batch documents in file order. */
    static List<Batch> batches(Path dir) throws IOException {
        List<Batch> batches = new ArrayList<>();
        for (long offset : documentOffsets(dir, JournalFormat.KIND_BATCH)) {
            long first = (long) readInt(dir, offset + JournalFormat.BATCH_FIRST_EVENT_OFFSET) & 0xFFFF_FFFFL;
            int count = readInt(dir, offset + JournalFormat.BATCH_COUNT_OFFSET);
            batches.add(new Batch(offset, first, count));
        }
        return batches;
    }

    /** The batch document holding {@code eventNumber}. */
    static Batch batchHolding(Path dir, long eventNumber) throws IOException {
        return batches(dir).stream()
                .filter(b -> b.first() <= eventNumber && eventNumber < b.first() + b.count())
                .findFirst()
                .orElseThrow();
    }
}
