package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Journals of a real QEMU's stream (ingest --journal; the tap writes the same) read by inspect, diff, report, replay. */
class QemuJournalCommandsTest {
    @TempDir
    Path dir;

    Cli cli;

    @BeforeEach
    void setUp() {
        cli = new Cli(dir, Backends.of());
    }

    /**
     * A QEMU 7.2 stream by hand: pc.ram of 8 pages and pc.bios of 1. Pass 1 (two PART sections): pc.ram pages 0-5 and
     * 7, even ones with data, odd ones zero (page 6 is never sent, as a hinted page), then the bios page, zero.
     * Pass 2 (a PART): pages 2 and 5 with data. The stop-and-copy (END): page 2 with data.
     */
    static byte[] stream(boolean page5Zero) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        be32(o, 0x5145564D);
        be32(o, 3);
        o.write(7);
        be32(o, 10);
        o.writeBytes("pc-q35-7.2".getBytes(StandardCharsets.US_ASCII));
        o.write(1);
        be32(o, 2);
        name(o, "ram");
        be32(o, 0);
        be32(o, 4);
        be64(o, 9 * 4096 | 4);
        name(o, "pc.ram");
        be64(o, 8 * 4096);
        name(o, "pc.bios");
        be64(o, 4096);
        be64(o, 0x10);
        footer(o);
        String last = null;
        int[][] sections = {{0, 1, 2, 3}, {4, 5, 7, 100}, {2, 5}, {2}};
        for (int s = 0; s < sections.length; s++) {
            o.write(s == sections.length - 1 ? 3 : 2);
            be32(o, 2);
            for (int p : sections[s]) {
                String block = p == 100 ? "pc.bios" : "pc.ram";
                long offset = p == 100 ? 0 : p * 4096L;
                boolean zero = p == 100 || (s == 0 || s == 1) && p % 2 == 1 && !(p == 5 && !page5Zero);
                be64(o, offset | (zero ? 0x02 : 0x08) | (block.equals(last) ? 0x20 : 0));
                if (!block.equals(last)) name(o, block);
                last = block;
                if (zero) o.write(0);
                else o.writeBytes(new byte[4096]);
            }
            be64(o, 0x10);
            footer(o);
        }
        o.write(0); // EOF (no device state: the reader stops at RAM's end, the rest is passed over)
        return o.toByteArray();
    }

    Path ingest(String name, byte[] stream) throws IOException {
        Path f = dir.resolve(name + ".stream");
        Files.write(f, stream);
        Path j = dir.resolve(name);
        Cli.Result r = cli.run("ingest", f.toString(), "--journal", j.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .containsPattern("journal: " + Pattern.quote(j.toString()) + " \\(\\d+ events, digest [0-9a-f]{16}\\)");
        return j;
    }

    @Test
    void shouldPrintTheRecordsAsEvents() throws IOException {
        Path j = ingest("a", stream(true));
        Cli.Result r = cli.run("inspect", j.toString(), "--events", "0:40");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .contains(
                        "PHASE phase=SETUP",
                        "PHASE phase=BULK iteration=1",
                        "QEMU_PAGE block=0 offset=0x0 record=data 4111B",
                        "QEMU_PAGE block=0 offset=0x1 record=zero 9B",
                        "QEMU_PAGE block=1 offset=0x0 record=zero 17B",
                        "ITERATION_END iteration=1 pages=8",
                        "PHASE phase=ITERATE iteration=2",
                        "GUEST_RUN_STATE paused=yes",
                        "PHASE phase=STOP_AND_COPY iteration=3",
                        "PHASE phase=COMPLETED",
                        "END phase=COMPLETED");
    }

    @Test
    void shouldTellAPagesHistoryFromTheJournal() throws IOException {
        Path j = ingest("a", stream(true));
        Cli.Result r = cli.run("inspect", j.toString(), "--page", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .contains(
                        "PFN 0x2 is pc.ram+0x2",
                        "QEMU sent it with its data (4104 bytes) in pass 1",
                        "QEMU sent it with its data (4111 bytes) in pass 2 (again: QEMU found it dirty after it last sent it",
                        "in pass 3 (again",
                        "the guest is paused: stop-and-copy",
                        "completed; the destination has what was sent last");
        Cli.Result never = cli.run("inspect", j.toString(), "--page", "6");
        assertThat(never.out()).contains("completed without QEMU sending it").doesNotContain("QEMU sent it");
        // pc.bios lies after pc.ram in the journal's layout: PFN 8
        assertThat(cli.run("inspect", j.toString(), "--page", "8").out())
                .contains("PFN 0x8 is pc.bios+0x0", "QEMU sent it as a zero page (17 bytes) in pass 1");
        Cli.Result bad = cli.run("inspect", j.toString(), "--page", "9");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.errLines()).hasSize(1);
    }

    @Test
    void shouldTellTheStateAtAnEvent() throws IOException {
        Path j = ingest("a", stream(true));
        Cli.Result events = cli.run("inspect", j.toString(), "--events", "0:100");
        long last = events.out().lines().count() - 1;
        Cli.Result r = cli.run("inspect", j.toString(), "--at", Long.toString(last));
        assertThat(r.exitCode()).as(r.err()).isZero();
        // 5 data + 4 zero in pass 1 (page 6 never), 2 data in pass 2, 1 in the stop-and-copy
        // record bytes: 8 + the name (1 + its length) unless CONTINUE + 4096 or 1; page 2 of pass 2 follows pc.bios
        long bytes = 4111 + 9 + 4104 + 9 + 4104 + 9 + 9 + 17 + 4111 + 4104 + 4104;
        assertThat(r.out())
                .contains("phase         COMPLETED, pass 3", "sent          6 with data, 5 zero, " + bytes + " bytes");
        Matcher m =
                Pattern.compile("#(\\d+) t=\\S+ QEMU_PAGE block=0 offset=0x5 ").matcher(events.out());
        assertThat(m.find()).isTrue();
        Cli.Result mid = cli.run("inspect", j.toString(), "--at", m.group(1));
        assertThat(mid.out()).contains("phase         BULK, pass 1", "sent          3 with data, 3 zero");
    }

    @Test
    void shouldDiffTwoJournalsOfQemuStreams() throws IOException {
        Path a = ingest("a", stream(true));
        Path same = ingest("same", stream(true));
        Path b = ingest("b", stream(false));
        Cli.Result eq = cli.run("diff", a.toString(), same.toString());
        assertThat(eq.exitCode()).as(eq.out() + eq.err()).isZero();
        assertThat(eq.out()).contains("the event streams are the same");
        Cli.Result d = cli.run("diff", a.toString(), b.toString());
        assertThat(d.exitCode()).isEqualTo(1);
        assertThat(d.out()).contains("first difference at event", "record=zero 9B", "record=data 4104B");
    }

    @Test
    void shouldDiffASimulatedRunAgainstAQemuStreamPassByPass() throws IOException {
        Path q = ingest("q", stream(true));
        Path sim = dir.resolve("sim");
        Cli real = new Cli(dir, Backends.discover());
        Cli.Result run = real.run(
                "run", "--mem", "64M", "--workload", "idle", "--policy", "legacy", "--journal", sim.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();

        Cli.Result d = cli.run("diff", sim.toString(), q.toString());

        assertThat(d.exitCode()).as(d.err()).isEqualTo(1);
        assertThat(d.err()).isEmpty();
        assertThat(d.out()).contains("first difference at event", "at the end, where they differ:");
        // the QEMU side's passes as the stream above has them: pages 0, 2, 4 with data and 1, 3, 5, 7 and the bios page
        // zero in pass 1, 2 data in pass 2, 1 in the stop-and-copy; each record's bytes: an 8-byte header, the block's
        // name unless CONTINUE, 4096 or 1
        String pass1 = String.format(Locale.ROOT, "%,d", 4111 + 9 + 4104 + 9 + 4104 + 9 + 9 + 17);
        String pass2 = String.format(Locale.ROOT, "%,d", 4111 + 4104);
        assertThat(d.out())
                .contains("pass by pass, where they differ (pages with data, zero pages, bytes):")
                .containsPattern(
                        "pass 1 +BULK +[\\d,]+ data, [\\d,]+ zero, [\\d,]+ B \\| BULK +3 data, 5 zero, " + pass1 + " B")
                .containsPattern("pass 2 +\\S+ +.* \\| ITERATE +2 data, 0 zero, " + pass2 + " B")
                .containsPattern("pass 3 +.* \\| STOP_AND_COPY +1 data, 0 zero, 4,104 B");
        // the simulated side: a 64 MiB idle guest sends each of its 16,384 pages once in pass 1, most of them zero
        Matcher m =
                Pattern.compile("pass 1 +BULK +([\\d,]+) data, ([\\d,]+) zero").matcher(d.out());
        assertThat(m.find()).isTrue();
        long data = Long.parseLong(m.group(1).replace(",", ""));
        long zero = Long.parseLong(m.group(2).replace(",", ""));
        assertThat(data + zero).isEqualTo(16_384);
        assertThat(zero).isGreaterThan(data);
    }

    @Test
    void shouldDrawAReport() throws IOException {
        Path a = ingest("a", stream(true));
        Path html = dir.resolve("r.html");
        Cli.Result r = cli.run("report", a.toString(), "-o", html.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(Files.readString(html)).contains("qemu");
    }

    @Test
    void shouldSayAReplayCannotRemakeQemusDecisionsAndCheckTheDigest() throws IOException {
        Path a = ingest("a", stream(true));
        Cli.Result r = cli.run("replay", a.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out().lines()).hasSize(1);
        assertThat(r.out())
                .containsPattern("a QEMU run: its decisions were QEMU's and cannot be re-made; the journal is "
                        + "intact: \\d+ events, digest [0-9a-f]{16} verified");
        Path queue;
        try (var s = Files.list(a)) {
            queue = s.filter(p -> p.toString().endsWith(".cq4")).findFirst().orElseThrow();
        }
        // damage the first QEMU_PAGE record (type id 50, little-endian) inside the queue file: its block field
        byte[] q = Files.readAllBytes(queue);
        int at = indexOf(q, new byte[] {50, 0, 0, 0, 0, 0, 0, 0});
        assertThat(at).isPositive();
        try (RandomAccessFile f = new RandomAccessFile(queue.toFile(), "rw")) {
            f.seek(at + 16);
            f.write(0x5a);
        }
        Cli.Result bad = cli.run("replay", a.toString());
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(bad.errLines()).hasSize(1);
    }

    @Test
    void shouldEndTheJournalOfARefusedStreamAtTheLastGoodRecord() throws IOException {
        byte[] s = stream(true);
        // the first record of the second PART section becomes XBZRLE: header 23, START 17 + list 47 + footer 5, PART 5,
        // 4111 + 9 + 4104 + 9, EOS 8, footer 5, PART 5
        int second = 23 + 17 + 47 + 5 + 5 + 4111 + 9 + 4104 + 9 + 8 + 5 + 5;
        s[second + 7] = 0x40 | 0x20;
        Path f = dir.resolve("bad.stream");
        Files.write(f, s);
        Path j = dir.resolve("bad");
        Cli.Result r = cli.run("ingest", f.toString(), "--journal", j.toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err())
                .contains(
                        "QEMU stream, byte " + second + ": XBZRLE page record",
                        "the journal ends at the last good record: " + j);
        Cli.Result ev = cli.run("inspect", j.toString(), "--events", "0:100");
        assertThat(ev.out().lines().filter(l -> l.contains("QEMU_PAGE"))).hasSize(4);
        assertThat(ev.out())
                .contains(
                        "STREAM_REFUSED offset=" + second + " kind=1",
                        "LINK_FAILED cause=PROTOCOL",
                        "PHASE phase=FAILED",
                        "END phase=FAILED");
        assertThat(cli.run("replay", j.toString()).exitCode()).isZero();
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int k = 0; k < needle.length; k++) if (hay[i + k] != needle[k]) continue outer;
            return i;
        }
        return -1;
    }

    private static void footer(ByteArrayOutputStream o) {
        o.write(0x7E);
        be32(o, 2);
    }

    private static void be32(ByteArrayOutputStream o, int v) {
        o.write(v >>> 24);
        o.write(v >>> 16);
        o.write(v >>> 8);
        o.write(v);
    }

    private static void be64(ByteArrayOutputStream o, long v) {
        be32(o, (int) (v >>> 32));
        be32(o, (int) v);
    }

    private static void name(ByteArrayOutputStream o, String s) {
        o.write(s.length());
        o.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }
}
