package dev.ballast.cli;

import dev.ballast.qemu.stream.DeviceStateWalker;
import dev.ballast.qemu.stream.QemuStreamException;
import dev.ballast.qemu.stream.QemuStreamReader;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.qemu.stream.SectionKind;
import dev.ballast.qemu.stream.Tee;
import dev.ballast.qemu.tap.QemuStreamJournal;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ballast ingest FILE}: reads a QEMU migration stream saved with {@code migrate "exec:cat > FILE"}, validating
 * every record, and prints what it holds; with {@code --journal DIR}, journals it as {@code ballast tap} does.
 */
@Command(
        name = "ingest",
        mixinStandardHelpOptions = true,
        usageHelpAutoWidth = true,
        description = {
            "Reads a QEMU migration stream saved to a file and prints a summary.",
            "",
            "FILE is a stream saved by QEMU 7.2 (x86-64, plain pre-copy), e.g. with QMP's migrate "
                    + "uri=\"exec:cat > FILE\". Every record up to the end of RAM is validated. Prints the RAM blocks with their zero and normal pages, the "
                    + "sections, and the offset where RAM ends. When the file ends with QEMU's VM description, the "
                    + "device sections are walked with it to EOF. A record this reader does not accept (XBZRLE, "
                    + "compression, multifd, postcopy or return-path commands, or anything malformed) ends the command "
                    + "with one line naming it and its byte offset (exit code 1).",
            "",
            "With --journal DIR, every page record becomes a journal event as with ballast tap (block, offset, zero or data, "
                    + "bytes; a saved stream has no times, so an event's time is the byte offset just past its record, "
                    + "1 ns a byte, and the same file always journals the same way), with the passes and the stop-and-copy as the stream shows "
                    + "them; a refused stream's journal ends at the last good record. inspect, diff, report and replay then "
                    + "read it."
        })
final class IngestCommand implements Callable<Integer> {
    private final Context ctx;

    @Parameters(paramLabel = "FILE", description = "The saved stream.")
    Path file;

    @Option(
            names = "--journal",
            paramLabel = "DIR",
            description = "Journal the stream's records into DIR (a new directory).")
    Path journal;

    IngestCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() throws IOException {
        long size = Files.size(file);
        Tally tally = new Tally();
        long ramEnd;
        long rest;
        QemuStreamReader reader;
        DeviceStateWalker.Result devices = null;
        QemuJournals journals = journal == null ? null : QemuJournals.at(journal);
        // A saved stream has no times: an event's time is the byte offset just past its record (1 ns a byte), so the
        // same file journals the same way every time.
        QemuStreamReader[] current = new QemuStreamReader[1];
        QemuStreamJournal events = journals == null
                ? null
                : new QemuStreamJournal(
                        journals,
                        QemuStreamJournal.Context.streamOnly("file " + file.toAbsolutePath()),
                        () -> current[0].position());
        String where = null;
        try (FileChannel ch = FileChannel.open(file);
                journals) {
            reader = new QemuStreamReader(ch, null);
            current[0] = reader;
            try {
                ramEnd = reader.readRam(events == null ? tally : new Tee(tally, events));
            } catch (QemuStreamException e) {
                String j = "";
                if (events != null) {
                    events.refused(e);
                    j = "; the journal ends at the last good record: " + journals.closeAndDescribe();
                }
                ctx.err()
                        .println("ballast: ingest " + file + ": " + e.getMessage() + " (" + tally.records
                                + " page records before it were valid)" + j);
                return ExitCodes.ERROR;
            } catch (QemuStreamJournal.TooLargeException e) {
                ctx.err().println("ballast: ingest " + file + ": " + e.getMessage());
                return ExitCodes.ERROR;
            }
            rest = reader.transferRest();
            if (events != null) {
                events.completed(ramEnd + rest);
                where = journals.closeAndDescribe();
            }
            if (DeviceStateWalker.findDescription(ch) >= 0) {
                try {
                    devices = DeviceStateWalker.walk(ch, ramEnd);
                } catch (QemuStreamException e) {
                    ctx.err()
                            .println("ballast: ingest " + file + ": " + e.getMessage()
                                    + " (RAM was valid; its device state is not)");
                    return ExitCodes.ERROR;
                }
            }
        }
        PrintStream o = ctx.out();
        o.printf(Locale.ROOT, "QEMU stream %s: %,d bytes, machine %s%n", file, size, reader.machineType());
        o.printf(Locale.ROOT, "RAM: %,d bytes in %d blocks%n", reader.ramTotalBytes(), tally.blocks.size());
        o.printf(Locale.ROOT, "  %-32s %15s %10s %10s %10s%n", "block", "bytes", "pages", "zero", "normal");
        for (RamBlock b : tally.blocks) {
            o.printf(
                    Locale.ROOT,
                    "  %-32s %,15d %,10d %,10d %,10d%n",
                    b.name(),
                    b.usedLength(),
                    b.pages(),
                    tally.zero[b.index()],
                    tally.normal[b.index()]);
        }
        o.printf(
                Locale.ROOT,
                "records: %,d zero, %,d normal (%,d bytes of page data)%n",
                reader.zeroPages(),
                reader.normalPages(),
                reader.normalPages() * QemuStreamReader.PAGE_SIZE);
        o.printf(
                Locale.ROOT,
                "sections: START 1, PART %d, END 1 (the END is the stop-and-copy: %,d zero, %,d normal)%n",
                reader.partSections(),
                tally.endZero,
                tally.endNormal);
        if (devices == null) {
            o.printf(
                    Locale.ROOT,
                    "RAM ends at byte %,d; %,d bytes of device state follow (not interpreted: no VM "
                            + "description at the end of the file)%n",
                    ramEnd,
                    rest);
        } else {
            o.printf(
                    Locale.ROOT,
                    "RAM ends at byte %,d; %d device sections follow, walked with QEMU's VM description "
                            + "to EOF at byte %,d; the description is %,d bytes%n",
                    ramEnd,
                    devices.devices().size(),
                    devices.eofOffset(),
                    devices.descriptionBytes());
        }
        if (where != null) o.println("journal: " + where);
        return ExitCodes.OK;
    }

    /** Counts per block, and what the END section carried. */
    private static final class Tally implements QemuStreamVisitor {
        List<RamBlock> blocks = List.of();
        long[] zero = new long[0];
        long[] normal = new long[0];
        long records;
        boolean inEnd;
        long endZero;
        long endNormal;

        @Override
        public void onRamSetup(long at, long totalBytes, List<RamBlock> list) {
            blocks = list;
            zero = new long[list.size()];
            normal = new long[list.size()];
        }

        @Override
        public void onSectionStart(long at, SectionKind kind, int sectionId, String name) {
            inEnd = kind == SectionKind.END;
        }

        @Override
        public void onZero(long at, RamBlock block, long offset) {
            zero[block.index()]++;
            records++;
            if (inEnd) {
                endZero++;
            }
        }

        @Override
        public void onPage(long at, RamBlock block, long offset, java.nio.ByteBuffer data, int dataOff) {
            normal[block.index()]++; // counts only: the page's bytes are not read
            records++;
            if (inEnd) {
                endNormal++;
            }
        }
    }
}
