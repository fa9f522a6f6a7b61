package dev.ballast.properties;

import dev.ballast.core.run.RunReport;

/** The assertions every simulated migration must pass. */
final class Checks {
    private Checks() {}

    /** The run completed (every hop, after its retries) and broke no invariant of docs/invariants.md. */
    static void clean(SimRunner.Outcome o) {
        for (String v : o.violations()) {
            if (o.known().explain(v) == null) throw new AssertionError(v);
        }
        if (!o.completed()) {
            StringBuilder a = new StringBuilder();
            for (RunReport.Attempt at : o.report().attempts())
                a.append(' ').append(at.outcome()).append(at.cause() == null ? "" : " (" + at.cause() + ")");
            throw new AssertionError("the run ended " + o.report().outcome() + " after its attempts:" + a);
        }
    }
}
