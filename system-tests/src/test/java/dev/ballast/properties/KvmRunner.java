package dev.ballast.properties;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.kvm.KvmAvailability;
import dev.ballast.kvm.backend.KvmRun;
import dev.ballast.replay.JournalRecorder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs a {@link KvmCase} on the KVM backend (in process: a source VM and a destination VM). */
final class KvmRunner {
    private KvmRunner() {}

    record Outcome(KvmCase kvmCase, RunReport report, String violation) {
        boolean completed() {
            return report.outcome().equals("completed");
        }
    }

    static boolean usable() {
        return KvmAvailability.check().usable();
    }

    static String whyNot() {
        return KvmAvailability.check().reason();
    }

    static Outcome run(KvmCase k, EventSink events) {
        long t0 = System.nanoTime();
        try {
            RunReport r = new KvmRun(k.scenario(), events, Backend.Progress.NONE, k.hooks()).run();
            return new Outcome(k, r, r.verify().violation());
        } finally {
            Tally.kvmMigration(System.nanoTime() - t0);
        }
    }

    static Outcome journal(KvmCase k, Path dir, Map<String, String> extra) {
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.put("case", k.toString());
        try (JournalRecorder rec = new JournalRecorder(dir, RunManifest.of(k.scenario()), meta)) {
            return run(k, rec);
        }
    }
}
