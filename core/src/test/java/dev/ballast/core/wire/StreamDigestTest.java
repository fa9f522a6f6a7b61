package dev.ballast.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.hash.Xxh64;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class StreamDigestTest {

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long xxh(String s) {
        byte[] b = s.getBytes(StandardCharsets.US_ASCII);
        return Xxh64.hash(le(b), 0, b.length, 0);
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + 7);
        return b;
    }

    @Test
    void shouldMatchTheReferenceXxh64() {
        assertThat(xxh("")).isEqualTo(0xEF46DB3751D8E999L);
        assertThat(xxh("a")).isEqualTo(0xD24EC4F1A98C6E5BL);
        assertThat(xxh("abc")).isEqualTo(0x44BC2CF5AD770999L);
    }

    /** Low 32 bits of XXH64 (seed 0) as zstd stores them as its content checksum ({@code zstd --check}), every code path. */
    @Test
    void shouldMatchZstdChecksumsAcrossEveryTailLength() {
        int[][] vectors = {
            {1, 0xe858bbb7},
            {3, 0x32a487f9},
            {4, 0xe3ff8f04},
            {7, 0x6c6f9a8e},
            {8, 0x269683e0},
            {31, 0xa39ad4a1},
            {32, 0x671cc43d},
            {33, 0xed857664},
            {63, 0x2707057f},
            {64, 0x5729d17e},
            {100, 0x3e70c151},
            {1000, 0x28043d35},
            {4096, 0x82dc78d9},
            {4121, 0xcf0dfa26},
        };
        for (int[] v : vectors) {
            byte[] b = pattern(v[0]);
            assertThat((int) Xxh64.hash(le(b), 0, b.length, 0))
                    .as("length %d", v[0])
                    .isEqualTo(v[1]);
        }
    }

    @Property(tries = 200)
    void shouldHashASliceLikeACopyOfIt(
            @ForAll @IntRange(max = 300) int from, @ForAll @IntRange(max = 300) int len, @ForAll long seed) {
        byte[] all = pattern(700);
        byte[] copy = java.util.Arrays.copyOfRange(all, from, from + len);
        ByteBuffer direct =
                ByteBuffer.allocateDirect(700).order(ByteOrder.LITTLE_ENDIAN).put(all);
        long expected = Xxh64.hash(le(copy), 0, len, seed);
        assertThat(Xxh64.hash(le(all), from, len, seed)).isEqualTo(expected);
        assertThat(Xxh64.hash(direct, from, len, seed)).isEqualTo(expected);
    }

    @Test
    void shouldFoldEachRecordsCrc32cAndLengthAsTheProtocolDocumentSays() {
        // CRC32C (Castagnoli), not CRC32: the check value of "123456789" is 0xE3069283
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update("123456789".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        assertThat(c.getValue()).isEqualTo(0xE3069283L);

        byte[] b = pattern(5000);
        long d = WireFormat.DIGEST_SEED;
        for (int[] r : new int[][] {{0, 48}, {48, 4096}, {4144, 856}}) {
            java.util.zip.CRC32C rc = new java.util.zip.CRC32C();
            rc.update(b, r[0], r[1]);
            long x = d ^ ((long) r[1] << 32 | rc.getValue());
            x ^= x >>> 33;
            x *= 0xC2B2AE3D27D4EB4FL;
            x ^= x >>> 29;
            x *= 0x165667B19E3779F9L;
            d = x ^ (x >>> 32);
        }
        StreamDigest s = new StreamDigest();
        ByteBuffer direct = ByteBuffer.allocateDirect(b.length).put(b).flip();
        s.fold(direct, 0, 48);
        s.fold(direct, 48, 4096);
        s.fold(le(b), 4144, 856);
        assertThat(s.digest()).isEqualTo(d);
        assertThat(direct.position()).isZero();
        assertThat(direct.limit()).isEqualTo(b.length);
    }

    @Test
    void shouldChainRecordsSoThatOrderAndBoundariesCount() {
        byte[] b = pattern(64);
        StreamDigest ab = new StreamDigest();
        ab.fold(le(b), 0, 16);
        ab.fold(le(b), 16, 48);
        StreamDigest ba = new StreamDigest();
        ba.fold(le(b), 16, 48);
        ba.fold(le(b), 0, 16);
        StreamDigest split = new StreamDigest();
        split.fold(le(b), 0, 20);
        split.fold(le(b), 20, 44);
        assertThat(ab.digest()).isNotEqualTo(ba.digest()).isNotEqualTo(split.digest());
        assertThat(ab.records()).isEqualTo(2);
        assertThat(ab.bytes()).isEqualTo(64);
    }

    @Test
    void shouldRefuseABigEndianBuffer() {
        assertThatThrownBy(() -> Xxh64.hash(ByteBuffer.allocate(8), 0, 8, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
