package dev.ballast.core.run;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing and printing of sizes ({@code 512M}, {@code 8G}, {@code 1T}), bandwidths ({@code 10Gbit}) and durations ({@code 2s}). */
public final class Units {
    private Units() {}

    private static final Pattern SIZE =
            Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kmgtp]?)(i?b?)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern BANDWIDTH = Pattern.compile(
            "(\\d+(?:\\.\\d+)?)\\s*([kmgt]?)(bit|bps|b/s|ib/s|byte/s|bit/s|b)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION =
            Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ns|us|µs|ms|s|m|min|h)?", Pattern.CASE_INSENSITIVE);

    /** Bytes from {@code 4096}, {@code 512K}, {@code 512M}, {@code 8G}, {@code 1T}, {@code 1.5GiB}; binary multiples. */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches())
            throw new IllegalArgumentException(
                    "size '" + text + "': expected a number with K, M, G, T or P (for example 8G)");
        double v = Double.parseDouble(m.group(1));
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "" -> 0;
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            case "p" -> 50;
            default -> throw new IllegalStateException();
        };
        double bytes = v * Math.pow(2, shift);
        if (bytes > Long.MAX_VALUE / 2) throw new IllegalArgumentException("size '" + text + "': too large");
        long r = Math.round(bytes);
        if (r != bytes) throw new IllegalArgumentException("size '" + text + "': not a whole number of bytes");
        return r;
    }

    /**
     * Bits per second from {@code 10Gbit}, {@code 10Gbps}, {@code 100Mbit}, {@code 1.25GB/s} (bytes),
     * {@code 0} (unlimited). Decimal multiples, as links are sold. A bare number other than 0 has no
     * unit and is refused: {@code 10} could be bits, bytes or gigabits.
     */
    public static long parseBandwidth(String text) {
        Matcher m = BANDWIDTH.matcher(text.trim());
        if (!m.matches())
            throw new IllegalArgumentException(
                    "bandwidth '" + text + "': expected for example 10Gbit, 100Mbit or 1.25GB/s");
        if (m.group(2).isEmpty() && m.group(3) == null && Double.parseDouble(m.group(1)) != 0) {
            throw new IllegalArgumentException("a bare number has no unit: write bits or bytes per second, "
                    + "e.g. 10Gbit, 100Mbit or 1250MB/s (0: unlimited)");
        }
        double v = Double.parseDouble(m.group(1));
        double mult = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "" -> 1;
            case "k" -> 1e3;
            case "m" -> 1e6;
            case "g" -> 1e9;
            case "t" -> 1e12;
            default -> throw new IllegalStateException();
        };
        String unit = m.group(3) == null ? "bit" : m.group(3);
        boolean bytes = unit.equals("B")
                || unit.equalsIgnoreCase("byte/s")
                || unit.equals("B/s")
                || unit.equalsIgnoreCase("iB/s");
        if (unit.equals("b") || unit.equals("b/s")) bytes = false;
        return Math.round(v * mult * (bytes ? 8 : 1));
    }

    /**
     * Nanoseconds from {@code 2s}, {@code 300ms}, {@code 50us}, {@code 1.5min}, or {@code 0}. A bare
     * number other than 0 has no unit and is refused: {@code 5} could be seconds or milliseconds.
     */
    public static long parseDurationNs(String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches())
            throw new IllegalArgumentException("duration '" + text + "': expected for example 2s, 300ms or 50us");
        double v = Double.parseDouble(m.group(1));
        if (m.group(2) == null && v != 0) {
            throw new IllegalArgumentException(
                    "a bare number has no unit: write a time with its unit, e.g. 300ms or 2s");
        }
        String u = m.group(2) == null ? "ns" : m.group(2).toLowerCase(Locale.ROOT);
        double ns = switch (u) {
            case "ns" -> 1;
            case "us", "µs" -> 1e3;
            case "ms" -> 1e6;
            case "s" -> 1e9;
            case "m", "min" -> 60e9;
            case "h" -> 3600e9;
            default -> throw new IllegalStateException();
        };
        return Math.round(v * ns);
    }

    /** A time as a user writes it, in the largest unit that holds it whole: {@code 2s}, {@code 250ms}, {@code 50us}, {@code 7ns}. */
    public static String formatDuration(long ns) {
        if (ns != 0 && ns % 1_000_000_000L == 0) return ns / 1_000_000_000L + "s";
        if (ns != 0 && ns % 1_000_000L == 0) return ns / 1_000_000L + "ms";
        if (ns != 0 && ns % 1_000L == 0) return ns / 1_000L + "us";
        return ns + "ns";
    }

    /** {@code 10 Gbit/s}, {@code 1.25 Gbit/s}, {@code 800 bit/s}: decimal multiples, as links are sold. */
    public static String formatBandwidth(long bitsPerSec) {
        String[] units = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
        double v = bitsPerSec;
        int i = 0;
        while (v >= 1000 && i < units.length - 1) {
            v /= 1000;
            i++;
        }
        return (v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v)) + " " + units[i];
    }

    /** {@code 8.0 GiB}, {@code 512.0 MiB}, {@code 4.0 KiB}, {@code 12 B}. */
    public static String formatBytes(long bytes) {
        String[] u = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int i = 0;
        while (Math.abs(v) >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return i == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }
}
