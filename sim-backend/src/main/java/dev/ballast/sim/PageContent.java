package dev.ballast.sim;

/**
 * How the simulator models a page's content, one {@code int} a page: {@code 0} is a page of zeros,
 * a negative value {@code -b} a page filled with byte {@code b}, and a positive value a version
 * that no other write of the run has produced.
 */
final class PageContent {
    private PageContent() {}

    /** The content of a page filled with this byte. */
    static int filled(int fillByte) {
        return fillByte == 0 ? 0 : -fillByte;
    }

    /** In words, for a violation: {@code zeros}, {@code bytes 0xaa}, {@code version 12}. */
    static String describe(int v) {
        if (v == 0) return "zeros";
        if (v < 0) return "bytes 0x" + Integer.toHexString(-v);
        return "version " + v;
    }
}
