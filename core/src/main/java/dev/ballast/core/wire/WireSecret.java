package dev.ballast.core.wire;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.Set;

/**
 * The shared secret that both ends of an authenticated page stream hold (read from a file, never
 * sent). At least 16 bytes; a trailing newline is not part of it.
 */
public final class WireSecret {
    public static final int MIN_BYTES = 16;
    private final byte[] bytes;

    private WireSecret(byte[] bytes) {
        if (bytes.length < MIN_BYTES)
            throw new IllegalArgumentException(
                    "the secret has " + bytes.length + " bytes; it needs at least " + MIN_BYTES);
        this.bytes = bytes.clone();
    }

    public static WireSecret of(byte[] bytes) {
        return new WireSecret(bytes);
    }

    /**
     * Reads a secret file: refuses one that is missing, shorter than {@value #MIN_BYTES} bytes, or
     * readable by users other than its owner (where the file system says so).
     */
    public static WireSecret read(Path file) {
        try {
            try {
                Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
                if (p.contains(PosixFilePermission.GROUP_READ) || p.contains(PosixFilePermission.OTHERS_READ)) {
                    throw new IllegalArgumentException(file + ": other users can read this secret; chmod 600 it");
                }
            } catch (UnsupportedOperationException notPosix) {
                // nothing to check
            }
            byte[] b = Files.readAllBytes(file);
            int n = b.length;
            while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) n--;
            return new WireSecret(Arrays.copyOf(b, n));
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the secret: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(file.toString())
                    ? e
                    : new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    byte[] bytes() {
        return bytes;
    }

    /**
     * Loads what authentication uses (the system's random source, HMAC-SHA256) ahead of the
     * migration that needs it: the first use in a fresh JVM takes 40-50 ms here, paid at both
     * ends inside the handshake otherwise.
     */
    public void warmUp() {
        byte[] n = WireAuth.nonce();
        WireAuth.sourceProof(bytes, n, n);
    }

    @Override
    public String toString() {
        return "WireSecret[" + bytes.length + " bytes]";
    }
}
