package dev.ballast.qemu.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class QemuStreamReaderTest {

    static Map<String, Long> threeBlocks() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("pc.ram", 64L * 4096);
        m.put("pc.bios", 4L * 4096);
        m.put("/rom@etc/acpi/tables", 2L * 4096);
        return m;
    }

    /** Every record type: named and CONTINUE records, a block carried across sections, an empty PART, END. */
    static QemuStreamWriter typical() {
        QemuStreamWriter w = new QemuStreamWriter().header("pc-q35-7.2").ramStart(2, threeBlocks());
        w.part(2)
                .page("pc.ram", 0, (byte) 1)
                .zero("pc.ram", 4096)
                .page("pc.ram", 8192, (byte) 2)
                .zero("pc.bios", 0)
                .page("/rom@etc/acpi/tables", 0, (byte) 3)
                .eos()
                .footer(2, "PART");
        w.part(2)
                .zero("/rom@etc/acpi/tables", 4096)
                .page("pc.ram", 63 * 4096, (byte) 4)
                .eos()
                .footer(2, "PART");
        w.part(2).eos().footer(2, "PART");
        w.end(2).page("pc.ram", 0, (byte) 5).eos().footer(2, "END");
        return w.devicesAndEof();
    }

    /** A stream up to and including the header of the first PART section; the test writes the records. */
    static QemuStreamWriter openPart() {
        return new QemuStreamWriter()
                .header("pc-q35-7.2")
                .ramStart(2, threeBlocks())
                .part(2);
    }

    @Test
    void shouldReportEveryRecordOfATypicalStreamInOrder() {
        QemuStreamWriter w = typical();
        Runs r = Runs.read(w.toByteArray(), Integer.MAX_VALUE, true);
        assertThat(r.error()).isNull();
        assertThat(r.events()).isEqualTo(w.events());
        assertThat(r.ends()).isEqualTo(w.eventEnds());
        assertThat(r.ramEnd()).isEqualTo(w.ramEnd());
        assertThat(r.reader().zeroPages()).isEqualTo(w.zeroPages()).isEqualTo(3);
        assertThat(r.reader().normalPages()).isEqualTo(w.normalPages()).isEqualTo(5);
        assertThat(r.reader().partSections()).isEqualTo(3);
        assertThat(r.reader().machineType()).isEqualTo("pc-q35-7.2");
        assertThat(r.reader().ramTotalBytes()).isEqualTo(70L * 4096);
        assertThat(r.reader().pages(r.reader().blocks().get(0))).isEqualTo(5);
        assertThat(r.forwarded()).isEqualTo(Arrays.copyOf(w.toByteArray(), (int) w.ramEnd()));
    }

    @Test
    void shouldCarryTheCurrentBlockAcrossSections() {
        QemuStreamWriter w = typical();
        // the second PART's first record continues /rom@etc/acpi/tables named in the first PART
        assertThat(w.events()).containsSubsequence("end PART 2", "PART 2", "zero /rom@etc/acpi/tables 4096");
        int i = w.events().indexOf("zero /rom@etc/acpi/tables 4096");
        assertThat(w.events().get(i - 1)).isEqualTo("PART 2");
        assertThat(Runs.read(w.toByteArray(), 7, true).events()).isEqualTo(w.events());
    }

    @Test
    void shouldGiveTheSameResultForAnyReadSize() {
        QemuStreamWriter w = typical();
        for (int chunk : new int[] {1, 2, 3, 5, 8, 13, 4095, 4096, 4097, 65536}) {
            Runs r = Runs.read(w.toByteArray(), chunk, true);
            assertThat(r.error()).as("chunk %d", chunk).isNull();
            assertThat(r.events()).as("chunk %d", chunk).isEqualTo(w.events());
            assertThat(r.forwarded()).as("chunk %d", chunk).isEqualTo(Arrays.copyOf(w.toByteArray(), (int) w.ramEnd()));
        }
    }

    @Test
    void shouldReadAStreamLargerThanItsBufferAndPassTheRestOn() throws Exception {
        QemuStreamWriter w = new QemuStreamWriter().header("pc-q35-7.2").ramStart(7, Map.of("pc.ram", 4096L * 4096));
        w.part(7);
        for (int p = 0; p < 4096; p++) {
            if (p % 3 == 0) {
                w.zero("pc.ram", p * 4096L);
            } else {
                w.page("pc.ram", p * 4096L, (byte) p);
            }
        }
        w.eos().footer(7, "PART").end(7).eos().footer(7, "END").devicesAndEof();
        byte[] stream = w.toByteArray();
        assertThat(stream.length).isGreaterThan(3 * QemuStreamReader.BUFFER_BYTES);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        QemuStreamReader reader = new QemuStreamReader(new Runs.ChunkedChannel(stream, 100_000), sink::write);
        RecordingVisitor v = new RecordingVisitor(reader, true);
        assertThat(reader.readRam(v)).isEqualTo(w.ramEnd());
        assertThat(v.events).isEqualTo(w.events());
        assertThat(sink.toByteArray()).isEqualTo(Arrays.copyOf(stream, (int) w.ramEnd()));
        assertThat(reader.transferRest()).isEqualTo(stream.length - w.ramEnd());
        assertThat(sink.toByteArray()).isEqualTo(stream);
        assertThat(reader.zeroPages()).isEqualTo(1366);
        assertThat(reader.normalPages()).isEqualTo(2730);
    }

    @Test
    void shouldAcceptAStreamWithoutConfiguration() {
        QemuStreamWriter w = new QemuStreamWriter();
        w.be32(0x5145564D)
                .be32(3)
                .ramStart(2, Map.of("pc.ram", 8192L))
                .end(2)
                .zero("pc.ram", 4096)
                .eos()
                .footer(2, "END");
        Runs r = Runs.read(w.toByteArray(), 64, true);
        assertThat(r.error()).isNull();
        assertThat(r.events().getFirst()).isEqualTo("header 3 null");
        assertThat(r.reader().zeroPages()).isEqualTo(1);
    }

    // ---- refusals: one per rule, each naming the offset of the offending record

    private static void refused(QemuStreamWriter w, long offset, QemuStreamException.Kind kind, String text) {
        byte[] stream = w.toByteArray();
        Runs r = Runs.read(stream, Integer.MAX_VALUE, false);
        assertThat(r.error()).as("refused").isNotNull();
        assertThat(r.error().kind()).isEqualTo(kind);
        assertThat(r.error().offset()).isEqualTo(offset);
        assertThat(r.error().getMessage())
                .startsWith("QEMU stream, byte " + offset + ": ")
                .contains(text)
                .doesNotContain("\n")
                .doesNotContain("Exception");
        assertThat(r.ends()).allSatisfy(end -> assertThat(end).isLessThanOrEqualTo(offset));
        assertThat(r.forwarded().length).isLessThanOrEqualTo((int) offset);
        assertThat(r.forwarded()).isEqualTo(Arrays.copyOf(stream, r.forwarded().length));
    }

    private static QemuStreamWriter then(QemuStreamWriter w, Consumer<QemuStreamWriter> more) {
        more.accept(w);
        return w;
    }

    @Test
    void shouldRefuseBadMagicAndVersions() {
        refused(new QemuStreamWriter().be32(0x5145564E).be32(3), 0, QemuStreamException.Kind.MALFORMED, "magic");
        refused(new QemuStreamWriter().be32(0x5145564D).be32(2), 4, QemuStreamException.Kind.UNSUPPORTED, "version 2");
        refused(new QemuStreamWriter().be32(0x5145564D).be32(4), 4, QemuStreamException.Kind.MALFORMED, "version 4");
        refused(
                new QemuStreamWriter().be32(0x5145564D).be32(3).u8(7).be32(0),
                9,
                QemuStreamException.Kind.MALFORMED,
                "machine type length 0");
    }

    @Test
    void shouldRefuseAConfigurationSubsectionNamingIt() {
        QemuStreamWriter w = new QemuStreamWriter().header("pc-q35-7.2");
        int at = w.size();
        w.u8(QemuStreamWriter.SUBSECTION).name("configuration/capabilities").be32(1);
        refused(w, at, QemuStreamException.Kind.UNSUPPORTED, "'configuration/capabilities'");
    }

    @Test
    void shouldRefuseACommandSectionNamingIt() {
        QemuStreamWriter w = new QemuStreamWriter().header("pc-q35-7.2");
        int at = w.size();
        w.u8(QemuStreamWriter.COMMAND).be16(3).be16(16).be64(0).be64(0);
        refused(w, at, QemuStreamException.Kind.UNSUPPORTED, "COMMAND section POSTCOPY_ADVISE (cmd 3");
        QemuStreamWriter mid = openPart().zero("pc.ram", 0).eos().footer(2, "PART");
        int at2 = mid.size();
        mid.u8(QemuStreamWriter.COMMAND).be16(1).be16(0);
        refused(mid, at2, QemuStreamException.Kind.UNSUPPORTED, "OPEN_RETURN_PATH");
    }

    /**
     * QEMU 10.0 sends SWITCHOVER_START (cmd 11, no payload) before RAM's END on machine types 10.0 and later: a
     * notification with no effect on RAM, passed through like the sections around it; with a payload it is not
     * QEMU's and is refused.
     */
    @Test
    void shouldPassQemu10sSwitchoverStartThroughAndRefuseItWithAPayload() {
        QemuStreamWriter w = openPart().zero("pc.ram", 0).eos().footer(2, "PART");
        w.u8(QemuStreamWriter.COMMAND).be16(11).be16(0);
        w.end(2).page("pc.ram", 4096, (byte) 9).eos().footer(2, "END");
        w.devicesAndEof();
        for (int chunk : new int[] {1, 3, 4096, Integer.MAX_VALUE}) {
            Runs r = Runs.read(w.toByteArray(), chunk, true);
            assertThat(r.error()).as("chunk %d", chunk).isNull();
            assertThat(r.events()).as("chunk %d", chunk).isEqualTo(w.events());
            assertThat(r.ramEnd()).isEqualTo(w.ramEnd());
            assertThat(r.forwarded()).as("chunk %d", chunk).isEqualTo(Arrays.copyOf(w.toByteArray(), (int) w.ramEnd()));
        }
        QemuStreamWriter bad = openPart().zero("pc.ram", 0).eos().footer(2, "PART");
        int at = bad.size();
        bad.u8(QemuStreamWriter.COMMAND).be16(11).be16(2).be16(0);
        refused(bad, at, QemuStreamException.Kind.MALFORMED, "SWITCHOVER_START (cmd 11) with 2 bytes");
    }

    @Test
    void shouldRefuseRecordsOfCapabilitiesItDoesNotHandleNamingEach() {
        String[][] cases = {
            {"64", "XBZRLE"},
            {"256", "COMPRESS_PAGE"},
            {"128", "HOOK"},
            {"512", "MULTIFD_FLUSH"},
            {"1024", "unknown RAM record flags 0x420"},
            {"1", "obsolete FULL"},
            {"4", "MEM_SIZE record outside"},
        };
        for (String[] c : cases) {
            QemuStreamWriter w = openPart().zero("pc.ram", 0);
            int at = w.size();
            w.be64(4096 | Integer.parseInt(c[0]) | QemuStreamWriter.CONTINUE)
                    .u8(0)
                    .be16(0);
            refused(
                    w,
                    at,
                    Integer.parseInt(c[0]) >= 64
                            ? QemuStreamException.Kind.UNSUPPORTED
                            : QemuStreamException.Kind.MALFORMED,
                    c[1]);
        }
    }

    @Test
    void shouldRefuseMalformedRecordFlags() {
        QemuStreamWriter both = openPart();
        refused(
                then(
                        both,
                        w -> w.be64(QemuStreamWriter.ZERO | QemuStreamWriter.NORMAL)
                                .name("pc.ram")
                                .u8(0)),
                both.size() - 16,
                QemuStreamException.Kind.MALFORMED,
                "both ZERO and PAGE");
        QemuStreamWriter none = openPart();
        int at = none.size();
        none.be64(QemuStreamWriter.CONTINUE);
        refused(none, at, QemuStreamException.Kind.MALFORMED, "neither ZERO nor PAGE");
        QemuStreamWriter eos = openPart();
        int at2 = eos.size();
        eos.be64(QemuStreamWriter.EOS | 4096);
        refused(eos, at2, QemuStreamException.Kind.MALFORMED, "EOS record with offset 0x1000");
    }

    @Test
    void shouldRefuseABlockNotInTheSetupList() {
        QemuStreamWriter w = openPart().zero("pc.ram", 0);
        int at = w.size();
        w.be64(QemuStreamWriter.ZERO).name("pc.ram2").u8(0);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "RAM block 'pc.ram2' is not in the setup list");
    }

    @Test
    void shouldRefuseAnOffsetPastTheBlock() {
        QemuStreamWriter w = openPart().zero("pc.bios", 3 * 4096);
        int at = w.size();
        w.be64(4 * 4096 | QemuStreamWriter.NORMAL | QemuStreamWriter.CONTINUE).bytes(new byte[4096]);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "page offset 0x4000 is past the end of RAM block 'pc.bios'");
        QemuStreamWriter huge = openPart();
        int at2 = huge.size();
        huge.be64(0xFFFF_FFFF_FFFF_F000L | QemuStreamWriter.ZERO).name("pc.ram").u8(0);
        refused(huge, at2, QemuStreamException.Kind.MALFORMED, "past the end of RAM block 'pc.ram'");
    }

    @Test
    void shouldRefuseContinueBeforeAnyBlock() {
        QemuStreamWriter w = openPart();
        int at = w.size();
        w.be64(QemuStreamWriter.ZERO | QemuStreamWriter.CONTINUE).u8(0);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "CONTINUE record before any block was named");
    }

    @Test
    void shouldRefuseAZeroRecordThatFillsWithNonZero() {
        QemuStreamWriter w = openPart();
        int at = w.size();
        w.be64(QemuStreamWriter.ZERO).name("pc.ram").u8(0x5a);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "fills its page with 0x5a");
    }

    @Test
    void shouldRefuseFooterMismatches() {
        QemuStreamWriter w = openPart().zero("pc.ram", 0).eos();
        int at = w.size();
        w.u8(QemuStreamWriter.FOOTER).be32(3);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "footer names section 3 but closes PART section 2");
        QemuStreamWriter noFooter = openPart().zero("pc.ram", 0).eos();
        int at2 = noFooter.size();
        noFooter.u8(QemuStreamWriter.PART).be32(2);
        refused(noFooter, at2, QemuStreamException.Kind.MALFORMED, "expected the section footer");
        QemuStreamWriter start = new QemuStreamWriter().header("pc-q35-7.2");
        start.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4)
                .be64(8192 | QemuStreamWriter.MEM_SIZE)
                .name("pc.ram")
                .be64(8192)
                .eos();
        int at3 = start.size();
        start.u8(QemuStreamWriter.FOOTER).be32(9);
        refused(start, at3, QemuStreamException.Kind.MALFORMED, "footer names section 9 but closes START section 2");
    }

    @Test
    void shouldRefuseSectionsOutOfPlace() {
        QemuStreamWriter unknownId = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 4096L));
        int at = unknownId.size();
        unknownId.u8(QemuStreamWriter.PART).be32(5);
        refused(unknownId, at, QemuStreamException.Kind.MALFORMED, "PART section for id 5, which no START opened");
        QemuStreamWriter beforeStart = new QemuStreamWriter().header("m");
        int at1 = beforeStart.size();
        beforeStart.u8(QemuStreamWriter.END).be32(2);
        refused(beforeStart, at1, QemuStreamException.Kind.MALFORMED, "END section for id 2, which no START opened");
        QemuStreamWriter eof = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 4096L));
        int at2 = eof.size();
        eof.u8(QemuStreamWriter.VM_EOF);
        refused(eof, at2, QemuStreamException.Kind.MALFORMED, "EOF section before RAM's END section");
        QemuStreamWriter full = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 4096L));
        int at3 = full.size();
        full.sectionHeader(QemuStreamWriter.FULL, 3, "timer", 0, 2);
        refused(full, at3, QemuStreamException.Kind.UNSUPPORTED, "device section 'timer' (FULL, id 3)");
        QemuStreamWriter block = new QemuStreamWriter().header("m");
        int at4 = block.size();
        block.sectionHeader(QemuStreamWriter.START, 1, "block", 0, 1);
        refused(block, at4, QemuStreamException.Kind.UNSUPPORTED, "iterable section 'block'");
        QemuStreamWriter twice = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 4096L));
        int at5 = twice.size();
        twice.sectionHeader(QemuStreamWriter.START, 3, "ram", 0, 4);
        refused(twice, at5, QemuStreamException.Kind.MALFORMED, "a second START section for RAM");
        QemuStreamWriter instance = new QemuStreamWriter().header("m");
        int at6 = instance.size();
        instance.sectionHeader(QemuStreamWriter.START, 2, "ram", 1, 4);
        refused(instance, at6, QemuStreamException.Kind.MALFORMED, "RAM section instance 1");
        QemuStreamWriter version = new QemuStreamWriter().header("m");
        version.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 5);
        refused(version, at6, QemuStreamException.Kind.UNSUPPORTED, "RAM section version 5");
        QemuStreamWriter type = new QemuStreamWriter().header("m");
        type.u8(0x42);
        refused(type, at6, QemuStreamException.Kind.MALFORMED, "unknown section type 0x42");
        QemuStreamWriter desc = new QemuStreamWriter().header("m");
        desc.u8(QemuStreamWriter.VMDESC);
        refused(desc, at6, QemuStreamException.Kind.MALFORMED, "section type 0x06 (VMDESCRIPTION)");
    }

    @Test
    void shouldRefuseBadBlockLists() {
        QemuStreamWriter noMemSize = new QemuStreamWriter().header("m");
        noMemSize.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4);
        int at = noMemSize.size();
        noMemSize.be64(8192 | QemuStreamWriter.EOS);
        refused(noMemSize, at, QemuStreamException.Kind.MALFORMED, "expected MEM_SIZE");

        QemuStreamWriter unaligned = new QemuStreamWriter().header("m");
        unaligned
                .sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4)
                .be64(8192 | QemuStreamWriter.MEM_SIZE)
                .name("pc.ram");
        int at1 = unaligned.size();
        unaligned.be64(4097);
        refused(unaligned, at1, QemuStreamException.Kind.MALFORMED, "used length 0x1001 is not a positive multiple");

        QemuStreamWriter over = new QemuStreamWriter().header("m");
        over.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4)
                .be64(8192 | QemuStreamWriter.MEM_SIZE)
                .name("a")
                .be64(4096)
                .name("b");
        int at2 = over.size();
        over.be64(8192);
        refused(over, at2, QemuStreamException.Kind.MALFORMED, "takes the blocks past the total of 0x2000");

        QemuStreamWriter dup = new QemuStreamWriter().header("m");
        dup.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4)
                .be64(8192 | QemuStreamWriter.MEM_SIZE)
                .name("a")
                .be64(4096);
        int at3 = dup.size();
        dup.name("a").be64(4096);
        refused(dup, at3, QemuStreamException.Kind.MALFORMED, "'a' listed twice");

        QemuStreamWriter noEos = new QemuStreamWriter().header("m");
        noEos.sectionHeader(QemuStreamWriter.START, 2, "ram", 0, 4)
                .be64(4096 | QemuStreamWriter.MEM_SIZE)
                .name("a")
                .be64(4096);
        int at4 = noEos.size();
        noEos.be64(0x20);
        refused(noEos, at4, QemuStreamException.Kind.MALFORMED, "expected EOS (0x10)");
    }

    @Test
    void shouldRefuseTruncationNamingWhereTheRecordStarts() {
        QemuStreamWriter w = openPart().zero("pc.ram", 0);
        int at = w.size();
        w.be64(4096 | QemuStreamWriter.NORMAL | QemuStreamWriter.CONTINUE).bytes(new byte[100]);
        refused(
                w,
                at,
                QemuStreamException.Kind.TRUNCATED,
                "stream ends at byte " + w.size() + ", inside a PAGE record");
        QemuStreamWriter clean = openPart().zero("pc.ram", 0).eos().footer(2, "PART");
        refused(clean, clean.size(), QemuStreamException.Kind.TRUNCATED, "stream ends before RAM's END section");
    }

    @Test
    void shouldEscapeUnprintableNamesInMessages() {
        QemuStreamWriter w = openPart();
        int at = w.size();
        w.be64(QemuStreamWriter.ZERO).u8(3).u8('a').u8(0x0a).u8(0xff).u8(0);
        refused(w, at, QemuStreamException.Kind.MALFORMED, "'a\\x0a\\xff'");
    }

    @Test
    void shouldNotAllocatePerPage() throws IOException, QemuStreamException {
        QemuStreamWriter w = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 1024L * 4096));
        w.part(2);
        for (int p = 0; p < 1024; p++) {
            if ((p & 1) == 0) {
                w.page("pc.ram", p * 4096L, (byte) p);
            } else {
                w.zero("pc.ram", p * 4096L);
            }
        }
        byte[] stream = w.eos().footer(2, "PART").end(2).eos().footer(2, "END").toByteArray();
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long[] sum = new long[1];
        QemuStreamVisitor v = new QemuStreamVisitor() {
            @Override
            public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                sum[0] += data[dataOff];
            }
        };
        for (int round = 0; round < 20; round++) { // warm up, then measure one more
            new QemuStreamReader(new Runs.ChunkedChannel(stream, 65536), null).readRam(v);
        }
        Runs.ChunkedChannel ch = new Runs.ChunkedChannel(stream, 65536);
        long before = mx.getCurrentThreadAllocatedBytes();
        QemuStreamReader reader = new QemuStreamReader(ch, null);
        reader.readRam(v);
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        // the reader's 1 MiB buffer and setup objects; a byte per page would already be 1 KiB more
        assertThat(allocated - QemuStreamReader.BUFFER_BYTES)
                .as("bytes allocated beyond the buffer")
                .isLessThan(8192);
        assertThat(reader.normalPages()).isEqualTo(512);
    }

    /** A discarding channel, as a relay's destination. */
    private static final class Discard implements java.nio.channels.WritableByteChannel {
        long bytes;

        @Override
        public int write(java.nio.ByteBuffer src) {
            int n = src.remaining();
            src.position(src.limit());
            bytes += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {}
    }

    @Test
    void shouldNotAllocateOnTheHeapWhenRelayingWithAVisitorOfTheBuffer() throws IOException, QemuStreamException {
        QemuStreamWriter w = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 1024L * 4096));
        w.part(2);
        for (int p = 0; p < 1024; p++) {
            if ((p & 1) == 0) {
                w.page("pc.ram", p * 4096L, (byte) p);
            } else {
                w.zero("pc.ram", p * 4096L);
            }
        }
        byte[] stream = w.eos().footer(2, "PART").end(2).eos().footer(2, "END").toByteArray();
        com.sun.management.ThreadMXBean mx =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long[] sum = new long[1];
        QemuStreamVisitor v = new QemuStreamVisitor() {
            @Override
            public void onPage(long at, RamBlock block, long offset, java.nio.ByteBuffer data, int dataOff) {
                sum[0] += data.get(dataOff);
            }
        };
        Discard dest = new Discard();
        ChannelSink sink = new ChannelSink(dest);
        for (int round = 0; round < 20; round++) { // warm up, then measure one more
            new QemuStreamReader(new Runs.ChunkedChannel(stream, 65536), sink).readRam(v);
        }
        Runs.ChunkedChannel ch = new Runs.ChunkedChannel(stream, 65536);
        long before = mx.getCurrentThreadAllocatedBytes();
        QemuStreamReader reader = new QemuStreamReader(ch, sink);
        reader.readRam(v);
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        // the buffer is direct (off the heap): what is left is the reader and its setup; a byte per page would be 1 KiB
        assertThat(allocated)
                .as("heap bytes allocated for one stream of 1024 pages")
                .isLessThan(8192);
        assertThat(reader.normalPages()).isEqualTo(512);
        assertThat(dest.bytes).isEqualTo(21L * stream.length);
    }

    @Test
    void shouldForwardAPageThatAnArrayVisitorChanged() throws IOException, QemuStreamException {
        QemuStreamWriter w = new QemuStreamWriter().header("m").ramStart(2, Map.of("pc.ram", 4L * 4096));
        w.part(2)
                .page("pc.ram", 0, (byte) 7)
                .page("pc.ram", 4096, (byte) 8)
                .eos()
                .footer(2, "PART");
        byte[] stream = w.end(2).eos().footer(2, "END").toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        QemuStreamReader reader = new QemuStreamReader(new Runs.ChunkedChannel(stream, 5000), out::write);
        reader.readRam(new QemuStreamVisitor() {
            @Override
            public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                data[dataOff + 100] ^= 0x5a; // as a test's lossy tap does: the destination must get the change
            }
        });
        byte[] forwarded = out.toByteArray();
        byte[] want = stream.clone();
        int first = indexOfPage(stream, 0), second = indexOfPage(stream, 4096);
        want[first + 100] ^= 0x5a;
        want[second + 100] ^= 0x5a;
        assertThat(forwarded).isEqualTo(want);
    }

    /** Where the data of the PAGE record at {@code offset} starts (the record word, then any block name). */
    private static int indexOfPage(byte[] stream, long offset) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(stream);
        for (int i = 0; i + 8 <= stream.length; i++) {
            long word = b.getLong(i);
            if (word == (offset | 0x08) || word == (offset | 0x28)) {
                return i + 8 + ((word & 0x20) == 0 ? 1 + stream[i + 8] : 0);
            }
        }
        throw new AssertionError("no PAGE record at " + offset);
    }
}
