package dev.ballast.journal;

import static dev.ballast.journal.JournalFormat.CHECKED_OFFSET;
import static dev.ballast.journal.JournalFormat.CRC_OFFSET;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Raw scans of a queue file, below Chronicle: used to tell a journal whose writer died (nothing
 * complete after the last document) from one whose damaged document hides the rest.
 */
final class JournalScan {
    /** Chronicle's excerpt header: bit 31 not complete, bit 30 metadata, low 30 bits length. */
    private static final int LENGTH_MASK = 0x3FFF_FFFF;

    private static final int CHUNK = 1 << 20;

    private JournalScan() {}

    /**
     * The file offset of the first complete, checksum-valid journal document (batch, checkpoint or
     * footer) that starts after {@code from}, or -1.
     */
    static long findCompleteDocumentAfter(Path file, long from) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = Math.max(4, (from + 3) & ~3L);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK + 8).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C crc = new CRC32C();
            while (pos + 4 <= size) {
                long chunkStart = pos - 4; // include the header word before the first candidate
                buf.clear();
                int n = 0;
                while (n < buf.capacity()) {
                    int r = ch.read(buf, chunkStart + n);
                    if (r <= 0) break;
                    n += r;
                }
                if (n < 8) break;
                for (int i = 4; i + 4 <= n; i += 4) {
                    int kind = buf.getInt(i);
                    if (kind != JournalFormat.KIND_BATCH
                            && kind != JournalFormat.KIND_CHECKPOINT
                            && kind != JournalFormat.KIND_FOOTER) {
                        continue;
                    }
                    int header = buf.getInt(i - 4);
                    if ((header & ~LENGTH_MASK) != 0) continue; // incomplete or metadata
                    int length = header & LENGTH_MASK;
                    long docStart = chunkStart + i;
                    if (length < JournalFormat.BATCH_RECORDS_OFFSET || docStart + length > size) continue;
                    if (checksumValid(ch, docStart, length, crc)) return docStart;
                }
                pos = chunkStart + (n - 4);
                if (n < buf.capacity()) break;
            }
            return -1;
        } catch (IOException e) {
            throw new JournalException("cannot scan queue file " + file + ": " + e.getMessage(), e);
        }
    }

    private static boolean checksumValid(FileChannel ch, long docStart, int length, CRC32C crc) throws IOException {
        ByteBuffer doc = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        int n = 0;
        while (n < length) {
            int r = ch.read(doc, docStart + n);
            if (r <= 0) return false;
            n += r;
        }
        crc.reset();
        crc.update(doc.array(), CHECKED_OFFSET, length - CHECKED_OFFSET);
        return (int) crc.getValue() == doc.getInt(CRC_OFFSET);
    }
}
