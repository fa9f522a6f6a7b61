package dev.ballast.qemu.stream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.qemu.tap.QemuStreamJournal;
import dev.ballast.qemu.tap.Tap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Hostile streams against a live tap, between a fake source and a fake destination socket: the destination
 * receives exactly the bytes before the refused record and nothing past it, both connections are closed, and the
 * journal's page events end at the last good record. The reader alone (no sockets) is the oracle for where a
 * stream is refused.
 */
class TapHostileTest {
    record Relay(Tap.Result result, byte[] received, QemuStreamJournalTest.Recording journal) {}

    static Relay relay(byte[] stream) {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        try (ServerSocketChannel dest = ServerSocketChannel.open().bind(loopback);
                Tap tap = Tap.listen(loopback)) {
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            Thread destination = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = dest.accept()) {
                    ByteBuffer b = ByteBuffer.allocate(1 << 16);
                    while (c.read(b.clear()) >= 0) {
                        received.write(b.array(), 0, b.position());
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            InetSocketAddress at = tap.address();
            Thread source = Thread.ofVirtual().start(() -> {
                try (SocketChannel c = SocketChannel.open(at)) {
                    ByteBuffer b = ByteBuffer.wrap(stream);
                    while (b.hasRemaining()) {
                        c.write(b);
                    }
                } catch (IOException e) {
                    // the tap refused the stream and closed the connection while this side still wrote: expected
                }
            });
            QemuStreamJournalTest.Recording rec = new QemuStreamJournalTest.Recording();
            QemuStreamJournal j = new QemuStreamJournal(
                    m -> {
                        rec.manifest = m;
                        return rec;
                    },
                    QemuStreamJournal.Context.streamOnly("test"),
                    tap.clock());
            Tap.Result r = tap.relay(dest.getLocalAddress(), j);
            source.join();
            destination.join();
            return new Relay(r, received.toByteArray(), rec);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** The tap against the reader alone: same verdict, the destination gets exactly what the reader validated. */
    static void check(byte[] stream, String what) {
        Runs alone = Runs.read(stream, Integer.MAX_VALUE, false);
        QemuStreamJournalTest.Recording expected = QemuStreamJournalTest.journalOf(stream);
        Relay r = relay(stream);
        if (alone.error() == null) {
            assertThat(r.result().ok()).as(what).isTrue();
            assertThat(r.received())
                    .as(what + ": everything forwarded unchanged")
                    .isEqualTo(stream);
        } else {
            assertThat(r.result().refused()).as(what).isNotNull();
            assertThat(r.result().refused().offset())
                    .as(what)
                    .isEqualTo(alone.error().offset());
            assertThat((long) r.received().length)
                    .as(what + ": nothing past the refused record")
                    .isLessThanOrEqualTo(alone.error().offset());
            assertThat(r.received())
                    .as(what + ": the bytes before it, unchanged")
                    .isEqualTo(Arrays.copyOf(stream, alone.forwarded().length));
        }
        assertThat(r.journal().pages()).as(what + ": the journal's pages").isEqualTo(expected.pages());
        List<String> tail = r.journal().events.isEmpty()
                ? List.of()
                : List.of(r.journal().events.getLast());
        assertThat(tail)
                .as(what)
                .allSatisfy(e -> assertThat(e).startsWith(alone.error() == null ? "END 4 " : "END 5 "));
    }

    @Test
    void shouldForwardAnIntactStreamUnchangedAndJournalIt() {
        byte[] s = QemuStreamReaderTest.typical().toByteArray();
        Relay r = relay(s);
        assertThat(r.result().ok()).isTrue();
        assertThat(r.received()).isEqualTo(s);
        assertThat(r.result().streamBytes()).isEqualTo(s.length);
        assertThat(r.journal().pages()).hasSize(8);
        assertThat(r.journal().events.getLast()).startsWith("END 4 " + s.length + " ");
    }

    @Test
    void shouldForwardNothingOfAStreamThatIsNotQemus() {
        byte[] s = QemuStreamReaderTest.typical().toByteArray();
        s[1] = 'X';
        Relay r = relay(s);
        assertThat(r.result().refused().getMessage())
                .isEqualTo("QEMU stream, byte 0: not a QEMU migration stream "
                        + "(magic 0x5158564d, expected 0x5145564d \"QEVM\")");
        assertThat(r.received()).isEmpty();
        assertThat(r.journal().events).isEmpty();
    }

    @Test
    void shouldForwardNothingPastABadRecordWhicheverStructureByteIsChanged() {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] full = w.toByteArray();
        int refused = 0;
        for (int i = 0; i < w.ramEnd(); i++) {
            if (w.isPageData(i) && i % 2048 != 0) continue; // page data is opaque: a sample is enough
            for (int v : new int[] {0x00, 0xff, full[i] ^ 0x01, full[i] ^ 0x20, full[i] ^ 0x40}) {
                if ((byte) v == full[i]) continue;
                byte[] m = full.clone();
                m[i] = (byte) v;
                check(m, "byte " + i + " = 0x" + Integer.toHexString(v & 0xff));
                refused += Runs.read(m, Integer.MAX_VALUE, false).error() != null ? 1 : 0;
            }
        }
        assertThat(refused).as("mutations refused").isGreaterThan(100);
    }

    @Test
    void shouldForwardOnlyWholeRecordsOfAStreamCutAnywhere() {
        QemuStreamWriter w = QemuStreamReaderTest.typical();
        byte[] full = w.toByteArray();
        for (int k = 0; k <= w.ramEnd(); k++) {
            if (w.isPageData(k) && k % 1024 != 0) continue;
            check(Arrays.copyOf(full, k), "cut at " + k);
        }
    }

    @Test
    void shouldRefuseRandomStreamsWithRandomDamageAtTheSameRecordAsTheReader() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(14);
        for (int t = 0; t < 200; t++) {
            byte[] s = QemuStreamHostileTest.randomStream(r.nextLong()).toByteArray();
            int at = r.nextInt(s.length);
            s[at] = (byte) r.nextInt(256);
            check(s, "try " + t + ", byte " + at);
        }
    }
}
