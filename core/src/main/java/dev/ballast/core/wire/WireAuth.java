package dev.ballast.core.wire;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The challenge and response of version 2 (docs/wire-protocol.md, Authentication): each end
 * proves it holds the shared secret with HMAC-SHA256 over both ends' nonces, under a label that
 * names its role, so neither proof can be replayed as the other, nor in another connection. The
 * secret itself never crosses the wire.
 */
final class WireAuth {
    private WireAuth() {}

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] DESTINATION = "ballast-auth-v2 destination".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SOURCE = "ballast-auth-v2 source".getBytes(StandardCharsets.US_ASCII);

    static byte[] nonce() {
        byte[] n = new byte[WireFormat.AUTH_NONCE_LENGTH];
        RANDOM.nextBytes(n);
        return n;
    }

    /** The destination's proof: HMAC(secret, "ballast-auth-v2 destination" ‖ source nonce ‖ destination nonce). */
    static byte[] destinationProof(byte[] secret, byte[] sourceNonce, byte[] destNonce) {
        return mac(secret, DESTINATION, sourceNonce, destNonce);
    }

    /** The source's proof: HMAC(secret, "ballast-auth-v2 source" ‖ source nonce ‖ destination nonce). */
    static byte[] sourceProof(byte[] secret, byte[] sourceNonce, byte[] destNonce) {
        return mac(secret, SOURCE, sourceNonce, destNonce);
    }

    /** Constant-time comparison. */
    static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    private static byte[] mac(byte[] secret, byte[] label, byte[] a, byte[] b) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(secret, "HmacSHA256"));
            m.update(label);
            m.update(a);
            m.update(b);
            return m.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available: " + e.getMessage(), e);
        }
    }
}
