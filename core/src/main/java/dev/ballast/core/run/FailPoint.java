package dev.ballast.core.run;

/**
 * Where an injected link failure happens: after a fraction of the guest's pages have been sent
 * ({@code 40%}), at a time since the migration started ({@code 250ms}, {@code 1.5s}), or at a point
 * drawn from the run's seed ({@code random}).
 */
public record FailPoint(double fractionOfPages, long atNs, boolean random) {

    public static FailPoint parse(String text) {
        String t = text.trim();
        try {
            if (t.equals("random")) return new FailPoint(-1, -1, true);
            if (t.endsWith("%")) {
                double f = Double.parseDouble(t.substring(0, t.length() - 1)) / 100.0;
                if (!(f >= 0 && f <= 10)) throw new IllegalArgumentException();
                return new FailPoint(f, -1, false);
            }
            return new FailPoint(-1, Units.parseDurationNs(t), false);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("fail-at=" + text + ": expected a percentage of guest pages (40%), a time (250ms) or 'random'");
        }
    }
}
