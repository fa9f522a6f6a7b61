package dev.ballast.qemu.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceStateWalkerTest {
    @TempDir
    Path dir;

    private DeviceStateWalker.Result walk(byte[] stream, long ramEnd) throws Exception {
        Path f = dir.resolve("s.bin");
        Files.write(f, stream);
        try (FileChannel ch = FileChannel.open(f)) {
            return DeviceStateWalker.walk(ch, ramEnd);
        }
    }

    @Test
    void shouldWalkDevicesWithStructsArraysAndSubsectionsExactlyToEof() throws Exception {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] s = w.toByteArray();
        DeviceStateWalker.Result r = walk(s, w.ramEnd());
        assertThat(r.devices()).containsExactly("timer", "cpu");
        assertThat(s[(int) r.eofOffset()]).isZero();
        assertThat(r.eofOffset() + r.descriptionBytes() + 1).isEqualTo(s.length);
        assertThat(r.pageSize()).isEqualTo(4096);
    }

    @Test
    void shouldRefuseAFileWithoutADescription() throws Exception {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] s = Arrays.copyOf(w.toByteArray(), w.toByteArray().length - 1);
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(
                                QemuStreamException.class, () -> walk(s, w.ramEnd()))
                        .getMessage())
                .contains("no VM description");
    }

    /**
     * Every byte from RAM's end to the file's end changed (device sections four ways, the JSON two ways, to keep
     * it quick): the walk accepts or throws its typed exception.
     */
    @Test
    void shouldSurviveEveryByteOfDeviceStateAndDescriptionMutated() throws Exception {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] s = w.toByteArray();
        int json;
        try (FileChannel ch = FileChannel.open(Files.write(dir.resolve("probe.bin"), s))) {
            json = w.size() - (int) DeviceStateWalker.findDescription(ch);
        }
        int refused = 0;
        for (int i = (int) w.ramEnd(); i < s.length; i++) {
            int[] values =
                    i < s.length - json ? new int[] {0x00, 0x05, 0x7e, s[i] ^ 0x01} : new int[] {'9', s[i] ^ 0x01};
            for (int v : values) {
                if ((byte) v == s[i]) {
                    continue;
                }
                byte[] m = s.clone();
                m[i] = (byte) v;
                try {
                    walk(m, w.ramEnd());
                } catch (QemuStreamException e) {
                    assertThat(e.getMessage()).doesNotContain("\n");
                    assertThat(e.offset()).isBetween(w.ramEnd(), (long) s.length);
                    refused++;
                }
            }
        }
        assertThat(refused).isPositive();
    }

    @Test
    void shouldNotSpinOnADescriptionOfNestedEmptyArrays() throws Exception {
        QemuStreamWriter w = QemuStreamReaderTest.openPart()
                .eos()
                .footer(2, "PART")
                .end(2)
                .eos()
                .footer(2, "END");
        long ramEnd = w.size();
        w.sectionHeader(QemuStreamWriter.FULL, 3, "bomb", 0, 1)
                .u8(QemuStreamWriter.FOOTER)
                .be32(3)
                .u8(0);
        String inner = "{\"vmsd_name\": \"e\", \"version\": 0, \"fields\": []}";
        for (int i = 0; i < 6; i++) {
            inner = "{\"vmsd_name\": \"n\", \"version\": 0, \"fields\": [{\"name\": \"x\", \"type\": \"struct\", "
                    + "\"array_len\": 16000000, \"struct\": " + inner + "}]}";
        }
        String json =
                "{\"page_size\": 4096, \"devices\": [{\"name\": \"bomb\", \"instance_id\": 0, \"vmsd_name\": \"n\","
                        + " \"version\": 1, \"fields\": "
                        + inner.substring(inner.indexOf("[{")).replaceFirst("}$", "") + "}]}";
        byte[] b = json.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        w.u8(QemuStreamWriter.VMDESC).be32(b.length).bytes(b);
        long t0 = System.nanoTime();
        QemuStreamException e = org.assertj.core.api.Assertions.catchThrowableOfType(
                QemuStreamException.class, () -> walk(w.toByteArray(), ramEnd));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("steps to walk");
        assertThat((System.nanoTime() - t0) / 1_000_000_000.0).isLessThan(20);
    }
}
