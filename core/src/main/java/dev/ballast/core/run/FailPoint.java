package dev.ballast.core.run;

import java.math.BigDecimal;
import java.util.SplittableRandom;

/**
 * Where an injected link failure happens on a migration's first attempt: after a share of the
 * guest's pages have been sent ({@code 40%}, at most {@code 100%}; resends count), after a
 * multiple of them ({@code 1.5x}: in a later pass, when the guest keeps writing), at a time since
 * the attempt started ({@code 250ms}, {@code 1.5s}), or at a point drawn from the run's seed
 * ({@code random}: between 5 % and 95 % of the guest's pages). Exactly one of the three is set.
 *
 * @param fractionOfPages the share of the guest's pages sent before the link fails (-1: not this kind)
 * @param atNs            the time after the attempt's start at which it fails (-1: not this kind)
 * @param random          whether the point is drawn from the run's seed
 */
public record FailPoint(double fractionOfPages, long atNs, boolean random) {
    /** The largest multiple of the guest's pages a failure may wait for. */
    public static final double MAX_FRACTION = 10;

    private static final String FORMS = "a percentage of the guest's pages sent (40%), a multiple of them (1.5x), "
            + "a time with its unit (250ms, 2s) or random";

    public FailPoint {
        int kinds = (fractionOfPages >= 0 ? 1 : 0) + (atNs >= 0 ? 1 : 0) + (random ? 1 : 0);
        if (kinds != 1) throw new IllegalArgumentException("a fail point is one of a share of pages, a time or random");
        if (fractionOfPages > MAX_FRACTION)
            throw new IllegalArgumentException("fractionOfPages must be at most " + MAX_FRACTION);
    }

    public static FailPoint afterFraction(double fractionOfPages) {
        return new FailPoint(fractionOfPages, -1, false);
    }

    public static FailPoint afterNs(long ns) {
        return new FailPoint(-1, ns, false);
    }

    public static FailPoint atRandom() {
        return new FailPoint(-1, -1, true);
    }

    /** {@code 40%}, {@code 1.5x}, {@code 250ms} or {@code random}; anything else is one {@link SettingException} for {@code fail-at}. */
    public static FailPoint parse(String text) {
        String t = text.trim();
        if (t.equals("random")) return atRandom();
        if (t.endsWith("%")) {
            double p = number(text, t.substring(0, t.length() - 1));
            if (!(p >= 0 && p <= 100)) {
                throw new SettingException(
                        "fail-at",
                        text,
                        "a percentage of the guest's pages must be in [0%, 100%]; "
                                + "for a failure after more than the guest's memory was sent, write a multiple such as 1.5x");
            }
            return afterFraction(p / 100);
        }
        if (t.endsWith("x")) {
            double m = number(text, t.substring(0, t.length() - 1));
            if (!(m > 0 && m <= MAX_FRACTION)) {
                throw new SettingException("fail-at", text, "a multiple of the guest's pages must be in (0x, 10x]");
            }
            return afterFraction(m);
        }
        try {
            return afterNs(Units.parseDurationNs(t));
        } catch (IllegalArgumentException e) {
            throw new SettingException("fail-at", text, "expected " + FORMS);
        }
    }

    private static double number(String text, String digits) {
        try {
            return Double.parseDouble(digits);
        } catch (NumberFormatException e) {
            throw new SettingException("fail-at", text, "expected " + FORMS);
        }
    }

    /**
     * After how many pages sent the link fails, for a guest of {@code guestPages} pages: -1 for a
     * time; for {@code random}, one draw from {@code faultRandom} (only then).
     */
    public long failAfterPages(long guestPages, SplittableRandom faultRandom) {
        if (random) return (long) (guestPages * (0.05 + 0.9 * faultRandom.nextDouble()));
        return fractionOfPages >= 0 ? (long) (guestPages * fractionOfPages) : -1;
    }

    /** When the link fails on a clock, for an attempt that started at {@code attemptStartNs} on it: -1 unless a time. */
    public long failAtNs(long attemptStartNs) {
        return atNs >= 0 ? attemptStartNs + atNs : -1;
    }

    /** As a user writes it: {@code 40%}, {@code 1.5x}, {@code 250ms}, {@code random}. */
    @Override
    public String toString() {
        if (random) return "random";
        if (atNs >= 0) return Units.formatDuration(atNs);
        if (fractionOfPages <= 1)
            return BigDecimal.valueOf(fractionOfPages)
                            .movePointRight(2)
                            .stripTrailingZeros()
                            .toPlainString() + "%";
        return BigDecimal.valueOf(fractionOfPages).stripTrailingZeros().toPlainString() + "x";
    }
}
