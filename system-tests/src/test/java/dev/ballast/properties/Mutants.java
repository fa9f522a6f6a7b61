package dev.ballast.properties;

/** Which mutant the properties run against: {@link Mutant#NONE} except while {@link MutantKillTest} runs one. */
public final class Mutants {
    private Mutants() {}

    private static volatile Mutant active = Mutant.NONE;

    public static Mutant active() {
        return active;
    }

    static void activate(Mutant m) {
        active = m;
    }
}
