package dev.ballast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestCommandTest {
    @TempDir
    Path dir;

    /** A QEMU 7.2 stream by hand: pc.ram of 4 pages and pc.bios of 1; a PART and the END; then a device and EOF. */
    static byte[] stream() {
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
        be64(o, 5 * 4096 | 4);
        name(o, "pc.ram");
        be64(o, 4 * 4096);
        name(o, "pc.bios");
        be64(o, 4096);
        be64(o, 0x10);
        o.write(0x7E);
        be32(o, 2);
        o.write(2); // PART: page 0 data, page 1 zero (CONTINUE), bios page 0 zero
        be32(o, 2);
        be64(o, 0x08);
        name(o, "pc.ram");
        o.writeBytes(new byte[4096]);
        be64(o, 4096 | 0x02 | 0x20);
        o.write(0);
        be64(o, 0x02);
        name(o, "pc.bios");
        o.write(0);
        be64(o, 0x10);
        o.write(0x7E);
        be32(o, 2);
        o.write(3); // END: page 3 of pc.ram
        be32(o, 2);
        be64(o, 3 * 4096 | 0x08);
        name(o, "pc.ram");
        o.writeBytes(new byte[4096]);
        be64(o, 0x10);
        o.write(0x7E);
        be32(o, 2);
        o.write(4); // a device, then EOF
        be32(o, 3);
        name(o, "timer");
        be32(o, 0);
        be32(o, 2);
        be64(o, 42);
        o.write(0x7E);
        be32(o, 3);
        o.write(0);
        return o.toByteArray();
    }

    /** The same stream with QEMU's VM description after EOF. */
    static byte[] withDescription() {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(stream());
        byte[] json = ("{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", \"instance_id\": 0, "
                        + "\"vmsd_name\": \"timer\", \"version\": 2, \"fields\": [{\"name\": \"t\", \"type\": \"int64\", "
                        + "\"size\": 8}]}]}")
                .getBytes(StandardCharsets.US_ASCII);
        o.write(6);
        be32(o, json.length);
        o.writeBytes(json);
        return o.toByteArray();
    }

    @Test
    void shouldSummariseASavedStream() throws Exception {
        Path f = dir.resolve("s.bin");
        byte[] s = stream();
        Files.write(f, s);
        Cli.Result r = new Cli(dir, Backends.of()).run("ingest", f.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .contains(
                        "machine pc-q35-7.2",
                        "RAM: 20,480 bytes in 2 blocks",
                        "records: 2 zero, 2 normal (8,192 bytes of page data)",
                        "PART 1, END 1",
                        "END is the stop-and-copy: 0 zero, 1 normal",
                        "RAM ends at byte 8,376; 33 bytes of device state follow (not interpreted");
        assertThat(r.out()
                        .lines()
                        .filter(l -> l.strip().startsWith("pc.ram"))
                        .findFirst()
                        .orElseThrow())
                .matches("\\s*pc\\.ram\\s+16,384\\s+4\\s+1\\s+2");
        assertThat(r.out()
                        .lines()
                        .filter(l -> l.strip().startsWith("pc.bios"))
                        .findFirst()
                        .orElseThrow())
                .matches("\\s*pc\\.bios\\s+4,096\\s+1\\s+1\\s+0");
    }

    @Test
    void shouldWalkTheDeviceStateWhenTheFileHasAVmDescription() throws Exception {
        Path f = dir.resolve("d.bin");
        Files.write(f, withDescription());
        Cli.Result r = new Cli(dir, Backends.of()).run("ingest", f.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("RAM ends at byte 8,376; 1 device sections follow, walked with QEMU's VM "
                        + "description to EOF at byte 8,408");
        byte[] bad = withDescription();
        bad[8376 + 1 + 4 + 6 + 8 + 8] = 0x11; // the timer's footer
        Files.write(f, bad);
        Cli.Result x = new Cli(dir, Backends.of()).run("ingest", f.toString());
        assertThat(x.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(x.errLines()).hasSize(1);
        assertThat(x.err()).contains("QEMU stream, byte 8403: device section 'timer' does not end with its footer");
    }

    @Test
    void shouldRefuseADamagedStreamInOneLineWithTheOffset() throws Exception {
        byte[] s = stream();
        Path cut = dir.resolve("cut.bin");
        Files.write(cut, Arrays.copyOf(s, 200));
        Cli.Result r = new Cli(dir, Backends.of()).run("ingest", cut.toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err())
                .contains("QEMU stream, byte 97: stream ends at byte 200, inside a PAGE record")
                .doesNotContain("Exception");
        Path mutated = dir.resolve("bad.bin");
        byte[] m = s.clone();
        // header 23, START header 17, block list 47, footer 5, PART header 5: the first record is at 97
        m[97 + 7] = 0x40; // its flags byte: XBZRLE
        Files.write(mutated, m);
        Cli.Result x = new Cli(dir, Backends.of()).run("ingest", mutated.toString());
        assertThat(x.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(x.err()).contains("XBZRLE page record (capability xbzrle)");
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
