package dev.ballast.properties;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Plants each of the seeds' bugs (issue 5's twelve mutants, {@link Mutant}) and runs the property
 * that guards against it — with its CI number of tries, fresh random seeds, shrinking and the
 * journal of the shrunk counterexample, exactly as in a CI run — and asserts that the property
 * fails. Prints the kill table: tries it took, the shrunk counterexample and its size.
 */
class MutantKillTest {
    /** The property that must kill each mutant: class and method. */
    static final Map<Mutant, Object[]> GUARD = new EnumMap<>(Mutant.class);

    static {
        GUARD.put(Mutant.STALE_HINTS, new Object[] {InvariantProperties.class, "hintsAreNeverStale"});
        GUARD.put(
                Mutant.BALLOON_SKIP_WITHOUT_TELL_HOST,
                new Object[] {InvariantProperties.class, "balloonSkipSurvivesDeflateRaces"});
        GUARD.put(
                Mutant.HINT_ACROSS_BLOCKS_ON_ONE_BLOCK,
                new Object[] {InvariantProperties.class, "hintsAcrossBlockBoundariesAreSplit"});
        GUARD.put(Mutant.POISON_IGNORED, new Object[] {InvariantProperties.class, "poisonIsPreserved"});
        GUARD.put(
                Mutant.BALLOON_BITMAP_UNCHECKED,
                new Object[] {WireProperties.class, "hostileStreamsAreRejectedAndWriteNothing"});
        GUARD.put(
                Mutant.BITMAP_IN_HOST_ORDER,
                new Object[] {WireProperties.class, "theBalloonBitmapRoundTripsAcrossBlockOrders"});
        GUARD.put(Mutant.OLD_COMMAND_ID_ACCEPTED, new Object[] {InvariantProperties.class, "hintsAreNeverStale"});
        GUARD.put(Mutant.NO_FINAL_SYNC, new Object[] {InvariantProperties.class, "noWriteIsLost"});
        GUARD.put(Mutant.HINTED_PAGES_STAY_CLEAN, new Object[] {InvariantProperties.class, "noWriteIsLost"});
        GUARD.put(
                Mutant.FAILURE_CONSUMES_DIRTY_LOG,
                new Object[] {RecoveryProperties.class, "aFailedMigrationThenANewOneLoseNothing"});
        GUARD.put(Mutant.HOST_WRITES_UNTRACKED, new Object[] {InvariantProperties.class, "hostWritesAreTracked"});
        GUARD.put(Mutant.COMMAND_ID_NEVER_WRAPS, new Object[] {InvariantProperties.class, "hintsAreNeverStale"});
        GUARD.put(Mutant.STALE_PAGE_NOT_DISCARDED, new Object[] {PostcopyProperties.class, "postcopyLosesNothing"});
        GUARD.put(
                Mutant.DISCARDS_USED_IN_POSTCOPY,
                new Object[] {PostcopyProperties.class, "discardsAreNotUsedWithPostcopy"});
        GUARD.put(
                Mutant.RECOVERY_RESENDS_HELD_PAGES,
                new Object[] {PostcopyProperties.class, "aLinkFailureInPostcopyIsRecovered"});
    }

    private static final List<String> ROWS = new ArrayList<>();

    /** Runs one property method through the JUnit platform (the jqwik engine) with mutant {@code m} planted. */
    static PropertyRuns.Run runAgainst(Mutant m, Class<?> cls, String method) {
        Mutants.activate(m);
        try {
            return PropertyRuns.launch(cls, method);
        } finally {
            Mutants.activate(Mutant.NONE);
        }
    }

    @Test
    void everyMutantIsKilledByItsPropertyWithinTheCiBudget() {
        List<String> survivors = new ArrayList<>();
        long[] before = Tally.snapshot();
        long t0 = System.nanoTime();
        for (Mutant m : Mutant.values()) {
            if (m == Mutant.NONE) continue;
            Object[] guard = GUARD.get(m);
            PropertyRuns.Run r = runAgainst(m, (Class<?>) guard[0], (String) guard[1]);
            String size = "-";
            String shrunk = "-";
            if (r.shrunk() != null) {
                for (Object p : r.shrunk()) {
                    if (p instanceof SimCase c) {
                        size = c.size();
                        shrunk = c.toString();
                    }
                    if (p instanceof WireCase w) {
                        size = w.size();
                        shrunk = w.toString();
                    }
                }
                if (shrunk.equals("-")) shrunk = r.shrunk().toString();
            }
            String first =
                    r.message() == null ? "-" : r.message().lines().findFirst().orElse("-");
            ROWS.add(String.format(
                    Locale.ROOT,
                    "| %2d | %-62s | %-45s | %s | %5d | %3d | %-18s | %5.1f s | %s |",
                    m.number,
                    m.bug,
                    guard[0].getClass() == Class.class ? ((Class<?>) guard[0]).getSimpleName() + "#" + guard[1] : "",
                    r.failed() ? "killed" : "SURVIVED",
                    r.tries(),
                    r.shrinkSteps(),
                    size,
                    r.seconds(),
                    first));
            System.out.println("[mutants] " + m.number + " " + m.name() + ": "
                    + (r.failed()
                            ? "killed after " + r.tries() + " tries, shrunk in " + r.shrinkSteps() + " steps to "
                                    + shrunk
                            : "SURVIVED " + r.tries() + " tries"));
            if (r.message() != null)
                System.out.println("[mutants]   " + r.message().replace("\n", "\n[mutants]   "));
            if (!r.failed()) survivors.add(m.number + " " + m.name());
            else if (r.shrunk() != null && r.shrunk().stream().anyMatch(p -> p instanceof SimCase)) {
                assertThat(r.message())
                        .as("the failure of %s names its journal and the commands", m)
                        .contains("journal:", "./ballast replay ");
            }
        }
        Tally.report("MutantKillTest (migrations against mutants)", before, System.nanoTime() - t0);
        assertThat(survivors)
                .as("mutants the suite did not kill within its CI tries")
                .isEmpty();
    }

    @AfterAll
    static void printTable() {
        System.out.println("[mutants] kill table");
        System.out.println(
                "| #  | bug                                                            | property                                      | result | tries | shrink steps | shrunk size | time | first violation |");
        ROWS.forEach(r -> System.out.println(r));
    }
}
