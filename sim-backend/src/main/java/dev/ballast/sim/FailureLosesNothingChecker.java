package dev.ballast.sim;

import dev.ballast.core.invariant.Invariant;

/**
 * Invariant 6, failure loses nothing: after a failed or cancelled attempt the source guest runs on
 * with its dirty tracking intact. (That the retry, or the next hop, then loses no write is
 * {@link NoLostWriteChecker}'s check at its end.)
 */
final class FailureLosesNothingChecker {
    private final Violations violations;

    FailureLosesNothingChecker(Violations violations) {
        this.violations = violations;
    }

    /** An attempt ended without completing; the guest is as the engine left it. */
    void afterFailedAttempt(SimGuest guest) {
        if (!guest.running() || !guest.dirtyLogging()) {
            violations.record(
                    Invariant.FAILURE_LOSES_NOTHING,
                    "after the failed attempt the source guest was " + (guest.running() ? "running" : "paused")
                            + " with dirty logging " + (guest.dirtyLogging() ? "on" : "off"));
        }
    }
}
