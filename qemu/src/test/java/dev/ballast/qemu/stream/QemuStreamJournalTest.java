package dev.ballast.qemu.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.EngineStats;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.RunFold;
import dev.ballast.qemu.tap.QemuManifest;
import dev.ballast.qemu.tap.QemuStreamJournal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A QEMU stream as journal events: pages with their record bytes, passes, the stop-and-copy, refusals, QMP figures. */
class QemuStreamJournalTest {
    /** Events as {@code TYPE a b c} (a QEMU_PAGE's c as {@code zero|data BYTES}), times kept aside. */
    static final class Recording implements EventSink {
        final List<String> events = new ArrayList<>();
        final List<Long> times = new ArrayList<>();
        QemuManifest manifest;

        @Override
        public synchronized void publish(EventType type, long timeNs, long a, long b, long c) {
            String last = type == EventType.QEMU_PAGE
                    ? (EventType.QemuPage.zero(c) ? "zero " : "data ") + EventType.QemuPage.recordBytes(c)
                    : Long.toString(c);
            events.add(type + " " + a + " " + b + " " + last);
            times.add(timeNs);
        }

        List<String> pages() {
            return events.stream().filter(e -> e.startsWith("QEMU_PAGE")).toList();
        }
    }

    static QemuStreamJournal journal(Recording rec, long[] clock) {
        return new QemuStreamJournal(
                m -> {
                    rec.manifest = m;
                    return rec;
                },
                QemuStreamJournal.Context.streamOnly("test"),
                () -> clock[0]++);
    }

    static Recording journalOf(byte[] stream) {
        Recording rec = new Recording();
        QemuStreamJournal j = journal(rec, new long[1]);
        QemuStreamReader r = new QemuStreamReader(new Runs.ChunkedChannel(stream, 1000), null);
        try {
            long end = r.readRam(j);
            j.completed(end + r.transferRest());
        } catch (QemuStreamException e) {
            j.refused(e);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return rec;
    }

    @Test
    void shouldJournalEveryRecordWithItsBytesAndThePassesAndStopAndCopyTheStreamShows() {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] s = w.toByteArray();
        Recording rec = journalOf(s);
        // bytes: header 8, the name (u8 + its bytes) unless CONTINUE, then 1 (zero) or 4096 (data)
        assertThat(rec.events)
                .containsExactly(
                        "STEP 0 0 0",
                        "PHASE 0 0 0",
                        "PHASE 1 1 0",
                        "STEP 1 0 0",
                        "QEMU_PAGE 0 0 data 4111",
                        "QEMU_PAGE 0 1 zero 9",
                        "QEMU_PAGE 0 2 data 4104",
                        "QEMU_PAGE 1 0 zero 17",
                        "QEMU_PAGE 2 0 data 4125",
                        "STEP 2 0 0",
                        "QEMU_PAGE 2 1 zero 9",
                        // pc.ram page 63 comes before the ROM's page 1 in QEMU's scan order: the scan wrapped, a new
                        // pass
                        "ITERATION_END 1 6 12375",
                        "PHASE 2 2 0",
                        "QEMU_PAGE 0 63 data 4111",
                        "STEP 3 0 0",
                        "STEP 4 0 0",
                        "ITERATION_END 2 1 4111",
                        "GUEST_RUN_STATE 1 0 0",
                        "PHASE 3 3 0",
                        "QEMU_PAGE 0 0 data 4104",
                        "ITERATION_END 3 1 4104",
                        // downtime: from the END section's reading to the end's, three readings of the test clock later
                        "PHASE 4 3 0",
                        "END 4 " + s.length + " " + 3);
        assertThat(rec.manifest.blocks())
                .extracting(RamBlock::name)
                .containsExactly("pc.ram", "pc.bios", "/rom@etc/acpi/tables");
        assertThat(rec.manifest.machineType()).isEqualTo("pc-q35-7.2");
        assertThat(rec.times).isSorted();
    }

    @Test
    void shouldCountWhatTheReaderCountsInTheRunsFold() {
        QemuStreamWriter w = QemuStreamHostileTest.randomStream(7);
        byte[] s = w.toByteArray();
        RunFold[] fold = new RunFold[1];
        QemuStreamJournal folded = new QemuStreamJournal(
                m -> {
                    fold[0] = new RunFold(m.layout(), 0, 8);
                    return fold[0];
                },
                QemuStreamJournal.Context.streamOnly("test"),
                System::nanoTime);
        try {
            QemuStreamReader reader = new QemuStreamReader(new Runs.ChunkedChannel(s, 999), null);
            reader.readRam(folded);
            folded.completed(s.length);
            EngineStats st = fold[0].runStats();
            assertThat(st.pagesZero()).isEqualTo(w.zeroPages());
            assertThat(st.pagesNormal()).isEqualTo(w.normalPages());
            // every page record's bytes: the RAM sections less their headers, EOS words and footers
            assertThat(st.transferredBytes()).isEqualTo(recordBytes(w));
            assertThat(st.phase().name()).isEqualTo("COMPLETED");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The page records' bytes, from the writer's own record ends: each record ends where the next one starts. */
    static long recordBytes(QemuStreamWriter w) {
        long sum = 0;
        long prevEnd = -1;
        for (int i = 0; i < w.events().size(); i++) {
            String e = w.events().get(i);
            long end = w.eventEnds().get(i);
            if (e.startsWith("zero ") || e.startsWith("page ")) {
                sum += end - prevEnd;
            }
            if (e.startsWith("PART") || e.startsWith("END")) {
                prevEnd = end; // records start right after a section header
            } else if (!e.startsWith("block")) {
                prevEnd = end;
            }
        }
        return sum;
    }

    @Test
    void shouldEndAtTheLastGoodRecordWhenTheStreamIsRefused() {
        QemuStreamWriter w = QemuStreamReaderTest.openPart();
        w.page("pc.ram", 0, (byte) 1).zero("pc.ram", 4096);
        int bad = w.size();
        w.zero("pc.ram", 8192)
                .page("pc.ram", 3 * 4096, (byte) 2)
                .eos()
                .footer(2, "PART")
                .end(2)
                .eos()
                .footer(2, "END");
        byte[] s = w.toByteArray();
        s[bad + 7] = 0x40 | 0x20; // the third record becomes XBZRLE
        Recording rec = journalOf(s);
        assertThat(rec.pages()).containsExactly("QEMU_PAGE 0 0 data 4111", "QEMU_PAGE 0 1 zero 9");
        assertThat(rec.events.subList(rec.events.size() - 4, rec.events.size()))
                .containsExactly(
                        "STREAM_REFUSED " + bad + " 1 0", "LINK_FAILED 3 0 0", "PHASE 5 1 0", "END 5 " + bad + " 0");
    }

    @Test
    void shouldOpenNothingWhenTheStreamIsRefusedBeforeItsBlockList() {
        byte[] s = QemuStreamReaderTest.typical().toByteArray();
        s[0] = 'X';
        Recording rec = journalOf(s);
        assertThat(rec.events).isEmpty();
        assertThat(rec.manifest).isNull();
    }

    @Test
    void shouldTurnQmpFiguresIntoSyncsAndStatusOnlyWhileTheJournalIsOpen() throws Exception {
        QemuStreamWriter w = QemuStreamReaderTest.openPart();
        w.page("pc.ram", 0, (byte) 1).eos().footer(2, "PART").end(2).eos().footer(2, "END");
        byte[] s = w.toByteArray();
        Recording rec = new Recording();
        QemuStreamJournal j = journal(rec, new long[1]);
        j.status(1, 100, 5); // before the block list: nowhere to go
        QemuStreamReader reader = new QemuStreamReader(new Runs.ChunkedChannel(s, 1 << 20), null);
        reader.readRam(new QemuStreamVisitor() {
            @Override
            public void onRamSetup(long at, long totalBytes, List<RamBlock> blocks) {
                j.onRamSetup(at, totalBytes, blocks);
                j.status(1, 4096, 7);
                j.status(3, 2048, 9);
                j.status(3, 1024, 9);
            }

            @Override
            public void onSectionStart(long at, SectionKind kind, int id, String name) {
                j.onSectionStart(at, kind, id, name);
            }

            @Override
            public void onSectionEnd(long at, long end, SectionKind kind, int id) {
                j.onSectionEnd(at, end, kind, id);
            }

            @Override
            public void onBlock(long at, RamBlock block) {
                j.onBlock(at, block);
            }

            @Override
            public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                j.onPage(at, block, offset, data, dataOff);
            }

            @Override
            public void onRamEnd(long end) {
                j.onRamEnd(end);
            }
        });
        j.completed(s.length);
        j.status(4, 0, 0); // after the end: dropped
        assertThat(rec.events.stream().filter(e -> e.startsWith("SYNC_BEGIN") || e.startsWith("QEMU_STATUS")))
                .containsExactly(
                        "SYNC_BEGIN 1 0 0",
                        "QEMU_STATUS 1 4096 7",
                        "SYNC_BEGIN 2 0 0",
                        "SYNC_BEGIN 3 0 0",
                        "QEMU_STATUS 3 2048 9",
                        "QEMU_STATUS 3 1024 9");
        assertThat(rec.events.getLast()).startsWith("END 4");
    }

    @Test
    void shouldRefuseToJournalAGuestLargerThanAJournalHolds() {
        Map<String, Long> huge = new LinkedHashMap<>();
        huge.put("pc.ram", QemuManifest.MAX_JOURNAL_BYTES + 4096);
        byte[] s = new QemuStreamWriter()
                .header("pc-q35-7.2")
                .ramStart(2, huge)
                .part(2)
                .eos()
                .footer(2, "PART")
                .toByteArray();
        QemuStreamJournal j = journal(new Recording(), new long[1]);
        assertThatThrownBy(() -> new QemuStreamReader(new Runs.ChunkedChannel(s, 1 << 20), null).readRam(j))
                .isInstanceOf(QemuStreamJournal.TooLargeException.class)
                .hasMessageContaining("larger than Ballast journals");
    }

    @Test
    void shouldLayTheBlocksEndToEndWithNamesAJournalCanHold() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("pc.ram", 8L * 4096);
        m.put("a,b", 4096L);
        m.put("a_b", 4096L);
        m.put("x".repeat(100), 4096L);
        byte[] s = new QemuStreamWriter()
                .header("pc-q35-7.2")
                .ramStart(2, m)
                .part(2)
                .eos()
                .footer(2, "PART")
                .toByteArray();
        Recording rec = new Recording();
        QemuStreamJournal j = journal(rec, new long[1]);
        try {
            new QemuStreamReader(new Runs.ChunkedChannel(s, 1 << 20), null).readRam(j);
        } catch (Exception e) {
            // truncated before RAM's END: the manifest is all this test needs
        }
        var layout = rec.manifest.layout();
        assertThat(layout.blocks())
                .extracting(b -> b.name() + "@" + b.firstPfn() + "+" + b.pages())
                .containsExactly("pc.ram@0+8", "a_b@8+1", "a_b#2@9+1", "x".repeat(64) + "@10+1");
        assertThat(rec.manifest.metadata().get("qemu.blocks"))
                .contains("\"name\":\"a,b\"", "\"journalName\":\"a_b#2\"");
        // the manifest reads back as a run's manifest
        assertThat(dev.ballast.core.run.RunManifest.fromMetadata(
                                rec.manifest.runManifest().toMetadata())
                        .layout()
                        .toString())
                .isEqualTo(layout.toString());
    }

    @Test
    void shouldNotAllocatePerRecord() throws Exception {
        QemuStreamWriter w = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 1024L * 4096));
        w.part(2);
        for (int p = 0; p < 1024; p++) {
            if ((p & 1) == 0) w.page("pc.ram", p * 4096L, (byte) p);
            else w.zero("pc.ram", p * 4096L);
        }
        w.eos().footer(2, "PART").part(2);
        for (int p = 0; p < 1024; p++) w.zero("pc.ram", p * 4096L); // a second pass
        byte[] stream = w.eos().footer(2, "PART").end(2).eos().footer(2, "END").toByteArray();
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long[] sum = new long[1];
        EventSink counting = (type, t, a, b, c) -> sum[0] += a + b + c;
        for (int round = 0; round < 20; round++) {
            new QemuStreamReader(new Runs.ChunkedChannel(stream, 65536), null)
                    .readRam(new QemuStreamJournal(
                            m -> counting, QemuStreamJournal.Context.streamOnly("t"), System::nanoTime));
        }
        QemuStreamJournal j =
                new QemuStreamJournal(m -> counting, QemuStreamJournal.Context.streamOnly("t"), System::nanoTime);
        QemuStreamReader reader = new QemuStreamReader(new Runs.ChunkedChannel(stream, 65536), null);
        long before = mx.getCurrentThreadAllocatedBytes();
        reader.readRam(j);
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        // the setup's objects (manifest, layout); a byte per record would be 2 KiB more
        assertThat(allocated)
                .as("bytes allocated while journaling 2,048 records")
                .isLessThan(16384);
        assertThat(j.records()).isEqualTo(2048);
        assertThat(j.passes()).isEqualTo(3);
    }
}
