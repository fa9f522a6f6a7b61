package dev.ballast.cli;

import dev.ballast.core.run.FailPoint;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.Units;
import dev.ballast.core.run.WorkloadSpec;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;

/**
 * Option value converters. Each throws {@link IllegalArgumentException} with the reason only; the
 * command line prefixes the option and the value ({@code --mem 8X: size '8X': expected ...}).
 */
final class Converters {
    private Converters() {}

    /** {@code HOST:PORT} or {@code [IPv6]:PORT}, resolved now. */
    static final class HostPort implements ITypeConverter<java.net.InetSocketAddress> {
        @Override
        public java.net.InetSocketAddress convert(String value) {
            return parseHostPort(value);
        }
    }

    static java.net.InetSocketAddress parseHostPort(String value) {
        String v = value.trim();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1)
            throw new IllegalArgumentException("'" + value + "': expected HOST:PORT");
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "': the port is not a number");
        }
        if (port < 0 || port > 65535)
            throw new IllegalArgumentException("'" + value + "': the port must be in 0..65535");
        java.net.InetSocketAddress a = new java.net.InetSocketAddress(host, port);
        if (a.isUnresolved()) throw new IllegalArgumentException("'" + value + "': cannot resolve " + host);
        return a;
    }

    /** {@code 512M}, {@code 8G}, {@code 1T}: bytes, binary multiples. */
    static final class Size implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return Units.parseSize(value);
        }
    }

    /** {@code 10Gbit}, {@code 100Mbit}, {@code 1.25GB/s}, {@code 0} (unlimited): bits per second. */
    static final class Bandwidth implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return Units.parseBandwidth(value);
        }
    }

    /** {@code 2s}, {@code 300ms}, {@code 50us}, {@code 0}; any other bare number is refused. */
    static final class Duration implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return Units.parseDurationNs(value);
        }
    }

    /** {@code name[:arg][,key=value...]}. */
    static final class Workload implements ITypeConverter<WorkloadSpec> {
        @Override
        public WorkloadSpec convert(String value) {
            return WorkloadSpec.parse(value);
        }
    }

    /** {@code 40%}, {@code 250ms}, {@code random}. */
    static final class FailAt implements ITypeConverter<FailPoint> {
        @Override
        public FailPoint convert(String value) {
            return FailPoint.parse(value);
        }
    }

    /** {@code --postcopy-after}: a pass number, {@code auto} or {@code off}. */
    static final class PostcopyAfter implements ITypeConverter<dev.ballast.core.engine.Postcopy> {
        @Override
        public dev.ballast.core.engine.Postcopy convert(String value) {
            return dev.ballast.core.engine.Postcopy.parse(value);
        }
    }

    /** A byte, {@code 0xaa} or {@code 170}. */
    static final class Byte implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            long v = parseInteger(value, "a byte, 0x00..0xff or 0..255");
            if (v < 0 || v > 0xff) throw new IllegalArgumentException("must be a byte, 0x00..0xff or 0..255");
            return (int) v;
        }
    }

    /** A free page hint command id in [0x80000000, 0xFFFFFFFF], hex or decimal. */
    static final class CommandId implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String range = "[0x80000000, 0xffffffff] (0 and 1 mean stop and done)";
            long v = parseInteger(value, "a command id in " + range);
            if (v < Scenario.MIN_COMMAND_ID || v > Scenario.MAX_COMMAND_ID) {
                throw new IllegalArgumentException("must be in " + range);
            }
            return v;
        }
    }

    /** {@code pfn} or {@code bitmap}. */
    static final class BalloonMessages implements ITypeConverter<dev.ballast.core.run.BalloonMessages> {
        @Override
        public dev.ballast.core.run.BalloonMessages convert(String value) {
            return dev.ballast.core.run.BalloonMessages.parse(value);
        }
    }

    /** A non-negative integer, {@code 0x}-prefixed hex or decimal. */
    static long parseInteger(String value, String expected) {
        String t = value.trim().toLowerCase(Locale.ROOT).replace("_", "");
        try {
            long v = t.startsWith("0x") ? Long.parseLong(t.substring(2), 16) : Long.parseLong(t);
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected " + expected);
        }
    }
}
