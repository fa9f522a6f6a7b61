package dev.ballast.kvm.migration;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;

/**
 * The real KVM guest as a {@link Backend}: source and destination VMs in this process. Where
 * {@code /dev/kvm} is missing or not usable, {@link #run} throws one {@link IllegalStateException}
 * that says why.
 */
public final class KvmBackend implements Backend {
    private final boolean prealloc;

    /** Destinations allocate their memory as pages arrive. */
    public KvmBackend() {
        this(false);
    }

    /** @param prealloc whether each destination allocates all of its memory before its migration starts */
    public KvmBackend(boolean prealloc) {
        this.prealloc = prealloc;
    }

    @Override
    public String name() {
        return "kvm";
    }

    @Override
    public boolean measuresWallTime() {
        return true;
    }

    @Override
    public RunReport run(Scenario scenario, EventSink events, Progress progress) {
        return new KvmRun(scenario, events, progress, KvmRun.Hooks.NONE, null, prealloc).run();
    }
}
