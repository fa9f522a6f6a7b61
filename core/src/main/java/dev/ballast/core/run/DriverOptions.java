package dev.ballast.core.run;

/**
 * How a backend drives its migrations around the engine, the same for the simulator and KVM: how
 * many attempts a migration gets when its link fails, how long the guest runs on before the retry,
 * and how long between the hops of a chain. Nothing here injects a fault; the defaults are what
 * every run uses.
 *
 * @param maxAttempts  attempts of one migration (hop) before it is given up; the first plus the retries
 * @param retryDelayNs the simulated guest runs on this long after a failed attempt, then the migration resumes (a
 *                     KVM source backs off instead, from 250 ms doubling, so a real destination is not hammered)
 * @param hopGapNs     the guest runs this long on each destination before it migrates on (a chain)
 * @param maxSteps     a wall-clock migration (KVM) that takes more engine steps than this has stopped making
 *                     progress: the attempt ends with one line that says so ({@code EngineRunner}); the
 *                     simulator's bound, in virtual steps, is its own ({@code SimOptions.maxSteps})
 */
public record DriverOptions(int maxAttempts, long retryDelayNs, long hopGapNs, long maxSteps) {
    /** The step bound unless set: a migration's steps are bounded work or a park of at most 10 ms, so this is hours, not a limit on size. */
    public static final long DEFAULT_MAX_STEPS = 50_000_000L;

    public static final DriverOptions DEFAULTS = new DriverOptions(4, 100_000_000L, 200_000_000L);

    public DriverOptions {
        if (maxAttempts < 1) throw new IllegalArgumentException("maxAttempts=" + maxAttempts + " must be >= 1");
        if (retryDelayNs < 0) throw new IllegalArgumentException("retryDelayNs=" + retryDelayNs + " must be >= 0");
        if (hopGapNs < 0) throw new IllegalArgumentException("hopGapNs=" + hopGapNs + " must be >= 0");
        if (maxSteps < 1) throw new IllegalArgumentException("maxSteps=" + maxSteps + " must be >= 1");
    }

    public DriverOptions(int maxAttempts, long retryDelayNs, long hopGapNs) {
        this(maxAttempts, retryDelayNs, hopGapNs, DEFAULT_MAX_STEPS);
    }

    public DriverOptions withMaxAttempts(int n) {
        return new DriverOptions(n, retryDelayNs, hopGapNs, maxSteps);
    }
}
