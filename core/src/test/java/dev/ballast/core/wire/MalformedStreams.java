package dev.ballast.core.wire;

import dev.ballast.core.hash.Xxh64;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts the distinct malformed streams the tests feed to a reader (by length and two 64-bit
 * hashes of their bytes), across every test class in this JVM.
 */
final class MalformedStreams {
    private MalformedStreams() {}

    private record Key(int length, long h0, long h1) {}

    private static final Set<Key> SEEN = ConcurrentHashMap.newKeySet();

    static void add(byte[] stream) {
        ByteBuffer b = ByteBuffer.wrap(stream).order(ByteOrder.LITTLE_ENDIAN);
        SEEN.add(new Key(stream.length, Xxh64.hash(b, 0, stream.length, 1), Xxh64.hash(b, 0, stream.length, 2)));
    }

    static int count() {
        return SEEN.size();
    }

    static void report(String who) {
        System.out.println("[wire] distinct malformed streams rejected so far (after " + who + "): " + count());
    }
}
