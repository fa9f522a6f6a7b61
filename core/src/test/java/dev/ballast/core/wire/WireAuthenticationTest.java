package dev.ballast.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireException.Reason;
import dev.ballast.core.wire.WireModel.Enc;
import dev.ballast.core.wire.WireModel.Expect;
import dev.ballast.core.wire.WireTestSupport.AnswerChannel;
import dev.ballast.core.wire.WireTestSupport.Collector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication (docs/wire-protocol.md, "Authentication (10, 11, 12), version 2") at both ends.
 * Every expectation is the document's: the records' layouts as its diagrams draw them (decoded
 * here, not with {@link WireFormat}), the proofs recomputed here with the JDK's HMAC-SHA256 over
 * the labels the document spells out, the reasons its text and table give, and the body after
 * the handshake judged by {@link WireModel}.
 */
class WireAuthenticationTest {
    static final byte[] KEY = "sixteen bytes ok, and a few more".getBytes(StandardCharsets.US_ASCII);
    static final byte[] OTHER_KEY = "another secret of some length!!!".getBytes(StandardCharsets.US_ASCII);
    static final RamLayout LAYOUT = WireTestSupport.layout("low", 0, 8, "high", 64, 4);

    // ------------------------------------------------------------------ the document's records and proofs

    /** HMAC-SHA256(k, label ‖ source nonce ‖ destination nonce), as the document writes it. */
    static byte[] proof(byte[] k, String label, byte[] sourceNonce, byte[] destNonce) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(k, "HmacSHA256"));
            m.update(label.getBytes(StandardCharsets.US_ASCII));
            m.update(sourceNonce);
            m.update(destNonce);
            return m.doFinal();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] destinationProof(byte[] k, byte[] sn, byte[] dn) {
        return proof(k, "ballast-auth-v2 destination", sn, dn);
    }

    static byte[] sourceProof(byte[] k, byte[] sn, byte[] dn) {
        return proof(k, "ballast-auth-v2 source", sn, dn);
    }

    static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** An AUTH_CHALLENGE as drawn: header, mechanism, reserved u16 + u32, nonce, proof. */
    static ByteBuffer challenge(int mechanism, int reserved, byte[] destNonce, byte[] proof) {
        ByteBuffer b = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 11).put((byte) 0).putInt(72);
        b.putShort((short) mechanism)
                .putShort((short) 0)
                .putInt(reserved)
                .put(destNonce)
                .put(proof);
        return b.flip();
    }

    /** AUTH_INIT or AUTH_RESPONSE as drawn, with a chosen mechanism and reserved u32. */
    static byte[] auth(int type, int mechanism, int reserved, byte[] thirtyTwo) {
        ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) type).put((byte) 0).putInt(40);
        b.putShort((short) mechanism).putShort((short) 0).putInt(reserved).put(thirtyTwo);
        return b.array();
    }

    /** An accepting HELLO_ACK as drawn, every page of every block of {@code layout} missing. */
    static ByteBuffer helloAck(long session, RamLayout layout) {
        int n = layout.blockCount();
        ByteBuffer b = ByteBuffer.allocate(24 + 24 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 2).put((byte) 0).putInt(16 + 24 * n);
        b.putShort((short) 0).putShort((short) 0).putInt(n).putLong(session);
        for (int i = 0; i < n; i++)
            b.putInt(i).putInt(0).putLong(0).putLong(layout.block(i).pages());
        return b.flip();
    }

    /** A COMPLETE_ACK as drawn, ok, no message. */
    static ByteBuffer completeAck(long digest) {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 8).put((byte) 0).putInt(32);
        b.putLong(digest)
                .putLong(3)
                .putLong(0)
                .put((byte) 1)
                .put((byte) 0)
                .putShort((short) 0)
                .putInt(0);
        return b.flip();
    }

    /** An ERROR as drawn. */
    static ByteBuffer error(int code, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(16 + m.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xBA11).put((byte) 9).put((byte) 0).putInt(8 + m.length);
        b.putShort((short) code).putShort((short) m.length).putInt(0).put(m);
        return b.flip();
    }

    static byte[] slice(byte[] s, int from, int len) {
        return Arrays.copyOfRange(s, from, from + len);
    }

    /** (start, length, type) of each whole record in {@code s}, by the headers as drawn. */
    static List<int[]> recordsOf(byte[] s) {
        return WireModel.frame(s);
    }

    /** The model body a source sends after authenticating: HELLO, pages, a fill, an iteration, COMPLETE. */
    static byte[] body(long session) {
        byte[] page = new byte[4096 * 2];
        for (int i = 0; i < page.length; i++) page[i] = (byte) (i * 31 + 7);
        return new Enc()
                .hello(WireModel.VERSION, 0, session, LAYOUT)
                .pages(0, 2, page)
                .fill(1, 0, 4, 0)
                .iterationEnd(1)
                .complete()
                .bytes();
    }

    // ------------------------------------------------------------------ the destination (reader) with a secret

    /** A reader that requires {@link #KEY}, fed AUTH_INIT, then what {@code respond} makes of its challenge. */
    record Dest(
            PageStreamReader reader,
            WireModelTest.RecordingSink sink,
            Collector answers,
            WireException rejection,
            byte[] challenge) {}

    interface Respond {
        byte[] to(byte[] challenge);
    }

    static Dest destination(byte[] first, Respond respond) throws IOException {
        WireModelTest.RecordingSink sink = new WireModelTest.RecordingSink(LAYOUT, Verdict.of(3, 0, true, "fine"));
        Collector answers = new Collector();
        AnswerChannel in = new AnswerChannel();
        in.then(() -> ByteBuffer.wrap(first));
        if (respond != null) in.then(() -> ByteBuffer.wrap(respond.to(answers.toByteArray())));
        PageStreamReader r = new PageStreamReader(in, answers, LAYOUT, sink).requireSecret(WireSecret.of(KEY));
        try {
            r.run();
            return new Dest(r, sink, answers, null, answers.toByteArray());
        } catch (WireException e) {
            return new Dest(r, sink, answers, e, answers.toByteArray());
        }
    }

    static final byte[] SOURCE_NONCE = new byte[32];

    static {
        for (int i = 0; i < 32; i++) SOURCE_NONCE[i] = (byte) (0xA0 + i);
    }

    @Test
    void aDestinationWithASecretAcceptsASourceThatProvesItAndAnswersWithItsOwnProof() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        byte[] body = body(77);
        Dest d = destination(init, ch -> {
            byte[] dn = slice(ch, 16, 32);
            return concat(auth(12, 1, 0, sourceProof(KEY, SOURCE_NONCE, dn)), body);
        });
        assertThat(d.rejection()).isNull();
        assertThat(d.reader().authenticated()).isTrue();
        byte[] a = d.answers().toByteArray();
        ByteBuffer b = le(a);
        // AUTH_CHALLENGE (11), 80 bytes: mechanism 1, reserved zero, a nonce, the destination's proof.
        assertThat(a[2]).isEqualTo((byte) 11);
        assertThat(a[3]).isZero();
        assertThat(b.getInt(4)).isEqualTo(72);
        assertThat(b.getShort(8)).isEqualTo((short) 1);
        assertThat(b.getShort(10)).isZero();
        assertThat(b.getInt(12)).isZero();
        byte[] dn = slice(a, 16, 32);
        assertThat(dn).as("a random destination nonce").isNotEqualTo(new byte[32]);
        assertThat(slice(a, 48, 32)).isEqualTo(destinationProof(KEY, SOURCE_NONCE, dn));
        // Then the body as the model judges it: the same calls, and a COMPLETE_ACK whose digest leaves the
        // authentication records out, while the stream offsets count their bytes.
        Expect want = WireModel.judge(body, LAYOUT);
        assertThat(want.accepted()).isTrue();
        assertThat(d.sink().log).isEqualTo(want.log());
        List<int[]> answers = recordsOf(a);
        assertThat(answers).extracting(r -> r[2]).containsExactly(11, 2, 8);
        int[] ack = answers.getLast();
        long modelDigest = le(body).getLong(body.length - 32 + 8);
        assertThat(b.getLong(ack[0] + 8)).isEqualTo(modelDigest);
        assertThat(d.reader().streamOffset()).isEqualTo(48 + 48 + body.length);
        assertThat(d.reader().hello().sessionId()).isEqualTo(77);
    }

    @Test
    void eachConnectionGetsAFreshDestinationNonce() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        Dest one = destination(init, null);
        Dest two = destination(init, null);
        // Both end early (no response): each still sent its challenge first.
        assertThat(one.rejection().reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(one.reader().authenticated()).isFalse();
        assertThat(slice(one.challenge(), 16, 32)).isNotEqualTo(slice(two.challenge(), 16, 32));
    }

    @Test
    void aProofOfAnotherSecretIsRefusedBeforeAnythingReachesTheSink() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        Dest d = destination(
                init, ch -> concat(auth(12, 1, 0, sourceProof(OTHER_KEY, SOURCE_NONCE, slice(ch, 16, 32))), body(1)));
        assertRefused(d, Reason.AUTH_FAILED, 48, 9);
    }

    @Test
    void theDestinationsOwnProofSentBackIsNotASourceProof() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        Dest d = destination(init, ch -> concat(auth(12, 1, 0, slice(ch, 48, 32)), body(1)));
        assertRefused(d, Reason.AUTH_FAILED, 48, 9);
    }

    @Test
    void aProofOverOtherNoncesIsRefused() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        Dest d = destination(init, ch -> concat(auth(12, 1, 0, sourceProof(KEY, SOURCE_NONCE, new byte[32])), body(1)));
        assertRefused(d, Reason.AUTH_FAILED, 48, 9);
    }

    @Test
    void helloBeforeAuthenticationIsRefusedWithARefusingHelloAck() throws IOException {
        Dest d = destination(body(5), null);
        assertRefused(d, Reason.AUTH_FAILED, 0, 2);
    }

    @Test
    void anythingElseBeforeAGoodResponseIsAnAuthenticationFailure() throws IOException {
        byte[] pages = new Enc().pages(0, 0, new byte[4096]).bytes();
        byte[] iteration = new Enc().iterationEnd(1).bytes();
        byte[] responseFirst = auth(12, 1, 0, new byte[32]);
        for (byte[] first : List.of(pages, iteration, responseFirst)) {
            assertRefused(destination(first, null), Reason.AUTH_FAILED, 0, 9);
        }
        // A second AUTH_INIT where the response belongs.
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        assertRefused(destination(init, ch -> init), Reason.AUTH_FAILED, 48, 9);
        // HELLO where the response belongs.
        assertRefused(destination(init, ch -> body(3)), Reason.AUTH_FAILED, 48, 2);
    }

    /**
     * A HELLO refused after authentication is answered with a refusing HELLO_ACK: echoing the HELLO's
     * session when its fields were read, 0 when its header alone refused it (it once read the
     * session from the authentication record's buffer and threw an IndexOutOfBoundsException).
     */
    @Test
    void aHelloRefusedAfterAuthenticationIsAnsweredWithARefusingHelloAck() throws IOException {
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        byte[] oldVersion = new Enc().hello(2, 0, 0x5E55, LAYOUT).bytes();
        Dest d = destination(
                init, ch -> concat(auth(12, 1, 0, sourceProof(KEY, SOURCE_NONCE, slice(ch, 16, 32))), oldVersion));
        assertThat(d.rejection().reason()).isEqualTo(Reason.UNSUPPORTED_VERSION);
        assertThat(d.reader().authenticated()).isTrue();
        byte[] a = d.answers().toByteArray();
        int[] last = recordsOf(a).getLast();
        assertThat(last[2]).isEqualTo(2);
        assertThat(le(a).getShort(last[0] + 8) & 0xFFFF).isEqualTo(Reason.UNSUPPORTED_VERSION.code());
        assertThat(le(a).getLong(last[0] + 16)).as("the session echoed").isEqualTo(0x5E55);

        byte[] tooShort = new byte[16];
        le(tooShort).putShort((short) 0xBA11).put(2, (byte) 1).putInt(4, 8); // a HELLO of 16 bytes
        d = destination(
                init, ch -> concat(auth(12, 1, 0, sourceProof(KEY, SOURCE_NONCE, slice(ch, 16, 32))), tooShort));
        assertThat(d.rejection().reason()).isEqualTo(Reason.BAD_LENGTH);
        a = d.answers().toByteArray();
        last = recordsOf(a).getLast();
        assertThat(last[2]).isEqualTo(2);
        assertThat(le(a).getShort(last[0] + 8) & 0xFFFF).isEqualTo(Reason.BAD_LENGTH.code());
        assertThat(le(a).getLong(last[0] + 16)).isZero();
        assertThat(d.sink().log).isEmpty();
    }

    @Test
    void anUnknownMechanismFailsAuthenticationAndAReservedFieldIsABadField() throws IOException {
        assertRefused(destination(auth(10, 2, 0, SOURCE_NONCE), null), Reason.AUTH_FAILED, 0, 9);
        assertRefused(destination(auth(10, 1, 1 << 16, SOURCE_NONCE), null), Reason.BAD_FIELD, 0, 9);
        byte[] init = auth(10, 1, 0, SOURCE_NONCE);
        byte[] reservedShort = auth(10, 1, 0, SOURCE_NONCE);
        reservedShort[10] = 1;
        assertRefused(destination(reservedShort, null), Reason.BAD_FIELD, 0, 9);
        Dest d = destination(init, ch -> auth(12, 7, 0, sourceProof(KEY, SOURCE_NONCE, slice(ch, 16, 32))));
        assertRefused(d, Reason.AUTH_FAILED, 48, 9);
        d = destination(init, ch -> auth(12, 1, 5, sourceProof(KEY, SOURCE_NONCE, slice(ch, 16, 32))));
        assertRefused(d, Reason.BAD_FIELD, 48, 9);
    }

    @Test
    void aStreamThatEndsBeforeAuthenticationIsTruncated() throws IOException {
        Dest d = destination(new byte[0], null);
        assertThat(d.rejection().reason()).isEqualTo(Reason.TRUNCATED);
        assertThat(d.rejection().getMessage()).contains("authentication");
        assertThat(d.sink().log).isEmpty();
    }

    @Test
    void anErrorFromTheSourceDuringAuthenticationIsThePeersError() throws IOException {
        byte[] err = new Enc().error(19, "gave up").bytes();
        Dest d = destination(err, null);
        assertThat(d.rejection().reason()).isEqualTo(Reason.PEER_ERROR);
        assertThat(d.rejection().getMessage()).contains("ABORTED").contains("gave up");
        assertThat(d.answers().toByteArray())
                .as("no answer to the peer's own ERROR")
                .isEmpty();
    }

    @Test
    void aSecretIsRequiredBeforeTheFirstStepOnly() throws Exception {
        byte[] body = body(9);
        PageStreamReader r = new PageStreamReader(
                WireTestSupport.channelOf(body),
                new Collector(),
                LAYOUT,
                new WireModelTest.RecordingSink(LAYOUT, Verdict.of(0, 0, true, "")));
        assertThat(r.step()).isTrue();
        assertThat(r.authenticated()).as("no secret required, none proven").isFalse();
        assertThatThrownBy(() -> r.requireSecret(WireSecret.of(KEY))).isInstanceOf(IllegalStateException.class);
    }

    static void assertRefused(Dest d, Reason reason, long offset, int answerType) {
        assertThat(d.rejection()).as("rejected").isNotNull();
        assertThat(d.rejection().reason()).as(d.rejection().getMessage()).isEqualTo(reason);
        assertThat(d.rejection().streamOffset()).isEqualTo(offset);
        assertThat(d.reader().authenticated()).isFalse();
        assertThat(d.sink().log).as("nothing reaches the sink").isEmpty();
        byte[] a = d.answers().toByteArray();
        int[] last = recordsOf(a).getLast();
        assertThat(last[2]).as("the answer's type").isEqualTo(answerType);
        int code = le(a).getShort(last[0] + 8) & 0xFFFF;
        assertThat(code).as("the answer's reason code").isEqualTo(reason.code());
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    // ------------------------------------------------------------------ the source (writer) with a secret

    record Source(PageStreamWriter writer, Collector out, LinkException failure, List<long[]> missing) {}

    interface Challenge {
        ByteBuffer to(byte[] init);
    }

    /** A writer with {@link #KEY} against a scripted destination whose first answer {@code challenge} makes. */
    static Source source(Challenge challenge, boolean thenAccept) {
        Collector out = new Collector();
        AnswerChannel in = new AnswerChannel();
        WireTestSupport.PatternSource pages = new WireTestSupport.PatternSource(LAYOUT);
        PageStreamWriter w = new PageStreamWriter(out, in, pages, PageStreamWriter.Options.defaults(42))
                .authenticate(WireSecret.of(KEY));
        in.then(() -> challenge.to(out.toByteArray()));
        if (thenAccept) {
            in.then(() -> helloAck(42, LAYOUT)).then(() -> completeAck(w.digest()));
        }
        List<long[]> missing = new ArrayList<>();
        try {
            w.open(LAYOUT, 0, (b, o, n) -> missing.add(new long[] {b, o, n}));
            w.sendPages(0, 0, 3);
            w.sendFill(1, 0, 4, 0);
            w.endIteration(1);
            w.complete();
            return new Source(w, out, null, missing);
        } catch (LinkException e) {
            return new Source(w, out, e, missing);
        }
    }

    static ByteBuffer goodChallenge(byte[] init, byte[] destNonce) {
        return challenge(1, 0, destNonce, destinationProof(KEY, slice(init, 16, 32), destNonce));
    }

    static final byte[] DEST_NONCE = new byte[32];

    static {
        for (int i = 0; i < 32; i++) DEST_NONCE[i] = (byte) (0x30 + 3 * i);
    }

    @Test
    void aSourceWithASecretProvesItAfterCheckingTheDestinationsProof() {
        Source s = source(init -> goodChallenge(init, DEST_NONCE), true);
        assertThat(s.failure()).isNull();
        byte[] o = s.out().toByteArray();
        ByteBuffer b = le(o);
        // AUTH_INIT (10), 48 bytes: mechanism 1, reserved zero, a random nonce.
        assertThat(o[2]).isEqualTo((byte) 10);
        assertThat(o[3]).isZero();
        assertThat(b.getInt(4)).isEqualTo(40);
        assertThat(b.getShort(8)).isEqualTo((short) 1);
        assertThat(b.getShort(10)).isZero();
        assertThat(b.getInt(12)).isZero();
        byte[] sn = slice(o, 16, 32);
        assertThat(sn).isNotEqualTo(new byte[32]);
        // AUTH_RESPONSE (12): the source's proof over both nonces.
        assertThat(o[48 + 2]).isEqualTo((byte) 12);
        assertThat(b.getInt(48 + 4)).isEqualTo(40);
        assertThat(b.getShort(48 + 8)).isEqualTo((short) 1);
        assertThat(b.getShort(48 + 10)).isZero();
        assertThat(b.getInt(48 + 12)).isZero();
        assertThat(slice(o, 48 + 16, 32)).isEqualTo(sourceProof(KEY, sn, DEST_NONCE));
        // The rest is a stream the model accepts, its digest leaving the authentication records out.
        byte[] rest = Arrays.copyOfRange(o, 96, o.length);
        Expect want = WireModel.judge(rest, LAYOUT);
        assertThat(want.accepted()).as(want.toString()).isTrue();
        assertThat(s.writer().bytesWritten())
                .as("auth bytes count in stream offsets")
                .isEqualTo(o.length);
        assertThat(s.missing()).extracting(m -> m[0] + "/" + m[1] + "/" + m[2]).containsExactly("0/0/8", "1/0/4");
        assertThat(s.writer().verdict().ok()).isTrue();
    }

    @Test
    void twoSourcesSendDifferentNonces() {
        Source one = source(init -> goodChallenge(init, DEST_NONCE), true);
        Source two = source(init -> goodChallenge(init, DEST_NONCE), true);
        assertThat(slice(one.out().toByteArray(), 16, 32))
                .isNotEqualTo(slice(two.out().toByteArray(), 16, 32));
    }

    /** The source refused the destination: it said why in ERROR, and sent no HELLO. */
    static void assertSourceRefused(Source s, Reason reason) {
        assertThat(s.failure()).as("the source fails").isNotNull();
        assertThat(s.failure().getMessage()).contains(reason.name());
        assertThat(s.failure().failureCause()).isEqualTo(FailureCause.PROTOCOL);
        byte[] o = s.out().toByteArray();
        List<int[]> recs = recordsOf(o);
        assertThat(recs).extracting(r -> r[2]).containsExactly(10, 9);
        assertThat(le(o).getShort(recs.get(1)[0] + 8) & 0xFFFF).isEqualTo(reason.code());
        assertThat(s.missing()).isEmpty();
    }

    @Test
    void aDestinationProofOfAnotherSecretIsRefused() {
        assertSourceRefused(
                source(
                        init -> challenge(
                                1, 0, DEST_NONCE, destinationProof(OTHER_KEY, slice(init, 16, 32), DEST_NONCE)),
                        true),
                Reason.AUTH_FAILED);
        // The source's own label is not the destination's.
        assertSourceRefused(
                source(init -> challenge(1, 0, DEST_NONCE, sourceProof(KEY, slice(init, 16, 32), DEST_NONCE)), true),
                Reason.AUTH_FAILED);
    }

    @Test
    void aChallengeOfAnUnknownMechanismFailsAuthenticationAndAReservedFieldIsABadField() {
        assertSourceRefused(
                source(
                        init -> challenge(2, 0, DEST_NONCE, destinationProof(KEY, slice(init, 16, 32), DEST_NONCE)),
                        true),
                Reason.AUTH_FAILED);
        assertSourceRefused(
                source(
                        init -> challenge(1, 1, DEST_NONCE, destinationProof(KEY, slice(init, 16, 32), DEST_NONCE)),
                        true),
                Reason.BAD_FIELD);
        assertSourceRefused(
                source(
                        init -> {
                            ByteBuffer c = goodChallenge(init, DEST_NONCE);
                            c.put(10, (byte) 1);
                            return c;
                        },
                        true),
                Reason.BAD_FIELD);
    }

    @Test
    void anAnswerOtherThanAChallengeIsUnexpected() {
        assertSourceRefused(source(init -> helloAck(42, LAYOUT), true), Reason.UNEXPECTED_RECORD);
    }

    @Test
    void aDestinationThatRefusesAuthenticationIsReportedWithItsReason() {
        Source s = source(init -> error(20, "this destination has no secret"), false);
        assertThat(s.failure()).isNotNull();
        assertThat(s.failure().failureCause()).isEqualTo(FailureCause.PROTOCOL);
        assertThat(s.failure().getMessage()).contains("AUTH_FAILED").contains("this destination has no secret");
        assertThat(recordsOf(s.out().toByteArray())).extracting(r -> r[2]).containsExactly(10);
    }

    @Test
    void aDestinationThatClosesBeforeItsChallengeIsAClosedPeer() {
        Source s = source(init -> ByteBuffer.allocate(0), false);
        assertThat(s.failure()).isNotNull();
        assertThat(s.failure().failureCause()).isEqualTo(FailureCause.PEER_CLOSED);
        assertThat(s.failure().getMessage()).contains("AUTH_INIT");
        assertThat(recordsOf(s.out().toByteArray())).extracting(r -> r[2]).containsExactly(10);
    }

    @Test
    void authenticateComesBeforeOpen() throws Exception {
        Collector out = new Collector();
        AnswerChannel in = new AnswerChannel().then(() -> helloAck(1, LAYOUT));
        PageStreamWriter w = new PageStreamWriter(
                out, in, new WireTestSupport.PatternSource(LAYOUT), PageStreamWriter.Options.defaults(1));
        w.open(LAYOUT, 0, (b, o, n) -> {});
        assertThatThrownBy(() -> w.authenticate(WireSecret.of(KEY))).isInstanceOf(IllegalStateException.class);
    }

    // ------------------------------------------------------------------ both ends, secrets from files

    /** A writer and a reader over pipes, each with its own secret. */
    static Object[] live(WireSecret sourceSecret, WireSecret destSecret) throws Exception {
        Pipe toDest = Pipe.open();
        Pipe toSource = Pipe.open();
        WireTestSupport.MemorySink sink = new WireTestSupport.MemorySink(LAYOUT);
        PageStreamReader reader =
                new PageStreamReader(toDest.source(), toSource.sink(), LAYOUT, sink).requireSecret(destSecret);
        FutureTask<Verdict> task = new FutureTask<>(() -> {
            try {
                return reader.run();
            } finally {
                toDest.source().close();
                toSource.sink().close();
            }
        });
        Thread t = new Thread(task, "wire-auth-dest");
        t.setDaemon(true);
        t.start();
        PageStreamWriter w = new PageStreamWriter(
                        toDest.sink(),
                        toSource.source(),
                        new WireTestSupport.PatternSource(LAYOUT),
                        PageStreamWriter.Options.defaults(5))
                .authenticate(sourceSecret);
        LinkException failure = null;
        try {
            w.open(LAYOUT, 0, (b, o, n) -> {});
            w.sendPages(0, 0, 8);
            w.complete();
        } catch (LinkException e) {
            failure = e;
        } finally {
            toDest.sink().close();
            toSource.source().close();
        }
        Object dest;
        try {
            dest = task.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            dest = e.getCause();
        }
        return new Object[] {failure, dest, reader.authenticated(), sink.log};
    }

    @Test
    void endsWithTheSameSecretMigrateAndEndsWithDifferentSecretsDoNot(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("secret");
        Files.write(file, concat(KEY, "\r\n".getBytes(StandardCharsets.US_ASCII)));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        Object[] same = live(WireSecret.read(file), WireSecret.of(KEY));
        assertThat(same[0]).as("the source's failure").isNull();
        assertThat(same[1]).isInstanceOf(Verdict.class);
        assertThat(same[2]).isEqualTo(true);

        Object[] different = live(WireSecret.of(OTHER_KEY), WireSecret.of(KEY));
        assertThat(different[0]).isInstanceOf(LinkException.class);
        assertThat(((LinkException) different[0]).getMessage()).contains("AUTH_FAILED");
        assertThat(different[1]).isInstanceOf(WireException.class);
        assertThat(different[2]).isEqualTo(false);
        assertThat((List<?>) different[3])
                .as("nothing reached the destination's sink")
                .isEmpty();
    }

    // ------------------------------------------------------------------ the secret file

    @Test
    void aSecretHasAtLeastSixteenBytesAndTheFileIsTheOwnersAlone(@TempDir Path dir) throws IOException {
        assertThat(WireSecret.of(new byte[16]).toString()).contains("16 bytes");
        assertThatThrownBy(() -> WireSecret.of(new byte[15]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("15 bytes")
                .hasMessageContaining("16");

        Path ok = dir.resolve("ok");
        Files.write(ok, "0123456789abcdef\n\n".getBytes(StandardCharsets.US_ASCII));
        Files.setPosixFilePermissions(ok, PosixFilePermissions.fromString("rw-------"));
        WireSecret s = WireSecret.read(ok);
        assertThat(s.toString()).as("trailing newlines are not part of it").contains("16 bytes");
        assertThat(s.toString()).doesNotContain("0123");

        Path shortOne = dir.resolve("short");
        Files.write(shortOne, "0123456789abcde\n".getBytes(StandardCharsets.US_ASCII));
        Files.setPosixFilePermissions(shortOne, PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(() -> WireSecret.read(shortOne))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(shortOne.toString())
                .hasMessageContaining("15 bytes");

        for (String mode : List.of("rw-r-----", "rw----r--")) {
            Path open = dir.resolve("open-" + mode);
            Files.write(open, KEY);
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString(mode));
            assertThatThrownBy(() -> WireSecret.read(open))
                    .as(mode)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith(open.toString())
                    .hasMessageContaining("chmod 600");
        }
        Path writableByGroup = dir.resolve("gw");
        Files.write(writableByGroup, KEY);
        Files.setPosixFilePermissions(writableByGroup, PosixFilePermissions.fromString("rw--w----"));
        assertThat(WireSecret.read(writableByGroup).toString()).contains(KEY.length + " bytes");

        Path missing = dir.resolve("missing");
        assertThatThrownBy(() -> WireSecret.read(missing))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(missing.toString());
    }

    @Test
    void aSecretReadFromAFileIsTheBytesBeforeItsTrailingNewlines(@TempDir Path dir) throws Exception {
        // Proven through the protocol: the file's secret and the bare bytes give the same proofs.
        Path file = dir.resolve("secret");
        Files.write(file, concat(KEY, "\n".getBytes(StandardCharsets.US_ASCII)));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        assertThat(WireAuth.sourceProof(WireSecret.read(file).bytes(), SOURCE_NONCE, DEST_NONCE))
                .isEqualTo(sourceProof(KEY, SOURCE_NONCE, DEST_NONCE));
        assertThat(WireAuth.destinationProof(WireSecret.read(file).bytes(), SOURCE_NONCE, DEST_NONCE))
                .isEqualTo(destinationProof(KEY, SOURCE_NONCE, DEST_NONCE));
    }
}
