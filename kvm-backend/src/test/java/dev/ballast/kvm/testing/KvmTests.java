package dev.ballast.kvm.testing;

import dev.ballast.kvm.KvmAvailability;
import org.junit.jupiter.api.Assumptions;

/** Skips a test, with the reason printed, where /dev/kvm is missing or not usable. */
public final class KvmTests {
    private static boolean told;

    private KvmTests() {}

    public static synchronized void assumeKvm() {
        KvmAvailability a = KvmAvailability.check();
        if (!a.usable() && !told) {
            System.err.println("KVM tests skipped: " + a.reason());
            told = true;
        }
        Assumptions.assumeTrue(a.usable(), () -> "KVM not usable: " + a.reason());
    }
}
