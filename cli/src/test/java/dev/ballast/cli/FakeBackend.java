package dev.ballast.cli;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import dev.ballast.kvm.backend.KvmBackend;
import dev.ballast.sim.SimBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A backend for the command line's tests: records the scenarios it is given and makes up a report
 * from them. Policy {@code broken} fails verification; policies it does not know are refused as a
 * real backend refuses them, with a {@link SettingException}. Named {@code sim}, {@code kvm} or {@code qemu}, it
 * checks everything else as the real backend of that name does (its {@link Backend#check}), and
 * has its defaults; any other name checks nothing more.
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

    /** The real backend of this name, whose checks and defaults this one has; null for another name. */
    private Backend real() {
        return switch (name) {
            case "sim" -> new SimBackend();
            case "kvm" -> new KvmBackend();
            case "qemu" -> new dev.ballast.qemu.backend.QemuBackend();
            default -> null;
        };
    }

    @Override
    public boolean measuresWallTime() {
        return wallTime;
    }

    @Override
    public void check(Scenario s, BackendOptions options) {
        if (!POLICIES.contains(s.policy())) {
            throw new SettingException(
                    "policy", s.policy(), "unknown policy (one of legacy, balloon, hint, bitmap, hint+balloon)");
        }
        if (real() != null) real().check(s.withPolicy("legacy"), options);
    }

    @Override
    public List<String> comparedPolicies() {
        return real() == null ? Backend.super.comparedPolicies() : real().comparedPolicies();
    }

    @Override
    public long defaultBandwidthBitsPerSec() {
        return real() == null ? 0 : real().defaultBandwidthBitsPerSec();
    }

    @Override
    public boolean usesCostProfile() {
        return real() != null && real().usesCostProfile();
    }

    @Override
    public RunReport run(Scenario s, BackendOptions options, EventSink events, Progress progress) {
        check(s, options);
        RuntimeException e = failure.apply(s);
        if (e != null) throw e;
        scenarios.add(s);
        progress.update("BULK", 1, 0.5, 1234);
        long pages = s.guestMemBytes() / 4096;
        int index = List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon", "broken")
                .indexOf(s.policy());
        double time = 1000.0 / (index + 1) + driftMsPerRun * (scenarios.size() - 1);
        long sent = pages * 4096 / (index + 1);
        boolean ok = !s.policy().equals("broken");
        return new RunReport(
                name,
                s.workload().toString(),
                s.policy(),
                s.guestMemBytes(),
                s.seed(),
                "virtual",
                "COMPLETED",
                time,
                time / 10,
                time / 10,
                2000,
                false,
                0.5,
                3 + index,
                sent,
                null,
                new RunReport.Pages(pages / (index + 1), 7, 0, pages - pages / (index + 1), 2),
                new RunReport.Hints(index, 10L * index, 100L * index, index, 0),
                new RunReport.Balloon(0, 0, 0, false, ok ? s.balloonSkipOff() : null),
                new RunReport.Verify(
                        pages,
                        ok ? 0 : 1,
                        ok,
                        ok ? null : "invariant 1 (no lost write): pfn 0x1234 in ram-low differs"),
                new RunReport.Journal(null, 0, null),
                List.of(new RunReport.Attempt("COMPLETED", null, time, sent)),
                List.of(),
                12.5);
    }
}
