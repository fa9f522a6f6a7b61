package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A backend for the command line's tests: records the scenarios it is given and makes up a report
 * from them. Policy {@code broken} fails verification; policies it does not know are refused as a
 * real backend refuses them, with an {@link IllegalArgumentException}.
 */
public class FakeBackend implements Backend {
    static final Set<String> POLICIES = Set.of("legacy", "balloon", "hint", "bitmap", "hint+balloon", "broken");

    private final String name;
    final List<Scenario> scenarios = new ArrayList<>();
    Function<Scenario, RuntimeException> failure = s -> null;
    /** Whether it says it measures wall time, as KVM does. */
    boolean wallTime;
    /** Added to every run's total time, run after run: a backend that gets faster as it warms (or slower). */
    double driftMsPerRun;

    FakeBackend(String name) {
        this.name = name;
    }

    /** For {@link java.util.ServiceLoader}, which needs a public no-argument constructor. */
    public FakeBackend() {
        this("fake");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public boolean measuresWallTime() {
        return wallTime;
    }

    @Override
    public RunReport run(Scenario s, EventSink events, Progress progress) {
        if (!POLICIES.contains(s.policy())) {
            throw new IllegalArgumentException("policy=" + s.policy() + ": unknown policy (one of legacy, balloon, hint, bitmap, hint+balloon)");
        }
        RuntimeException e = failure.apply(s);
        if (e != null) throw e;
        scenarios.add(s);
        progress.update("BULK", 1, 0.5, 1234);
        long pages = s.guestMemBytes() / 4096;
        int index = List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon", "broken").indexOf(s.policy());
        double time = 1000.0 / (index + 1) + driftMsPerRun * (scenarios.size() - 1);
        long sent = pages * 4096 / (index + 1);
        boolean ok = !s.policy().equals("broken");
        return new RunReport(name, s.workload().toString(), s.policy(), s.guestMemBytes(), s.seed(), "virtual", "COMPLETED",
                time, time / 10, 0.5, 3 + index, sent,
                new RunReport.Pages(pages / (index + 1), 7, 0, pages - pages / (index + 1), 2),
                new RunReport.Hints(index, 10L * index, 100L * index, index, 0),
                new RunReport.Balloon(0, 0, 0, false),
                new RunReport.Verify(pages, ok ? 0 : 1, ok, ok ? null : "invariant 1 (no lost write): pfn 0x1234 in ram-low differs"),
                new RunReport.Journal(null, 0, null),
                List.of(new RunReport.Attempt("COMPLETED", null, time, sent)),
                List.of(),
                12.5);
    }
}
