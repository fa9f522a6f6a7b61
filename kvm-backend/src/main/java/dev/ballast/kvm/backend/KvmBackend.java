package dev.ballast.kvm.backend;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;

/**
 * The real KVM guest as a {@link Backend}, named {@code kvm}: the source VM in this process, the
 * destination VM in this process too, or in a {@code ballast dest} reached over TCP
 * ({@link BackendOptions#destination()}); an in-process destination may preallocate its memory.
 * Where {@code /dev/kvm} is missing or not usable, {@link #run} throws one
 * {@link IllegalStateException} that says why. The bandwidth is unlimited unless limited.
 */
public final class KvmBackend implements Backend {
    @Override
    public String name() {
        return "kvm";
    }

    @Override
    public boolean measuresWallTime() {
        return true;
    }

    @Override
    public void check(Scenario scenario, BackendOptions options) {
        options.userBuild().refuseIn(name());
        if (!scenario.workload().param("from", "start").equals("start")) {
            throw new dev.ballast.core.run.SettingException(
                    "workload",
                    scenario.workload().toString(),
                    "from=" + scenario.workload().param("from", "start")
                            + " is the simulator's (the KVM guest program does not take it)");
        }
        KvmRun.check(scenario, options.destination(), options.preallocate());
    }

    /** The built-in policies this backend runs: all of them. */
    public static final java.util.List<String> POLICIES = dev.ballast.core.policy.Policies.BUILT_IN;

    @Override
    public RunReport run(Scenario scenario, BackendOptions options, EventSink events, Progress progress) {
        return new KvmRun(scenario, events, progress, KvmRun.Hooks.NONE, options.destination(), options.preallocate())
                .run();
    }
}
