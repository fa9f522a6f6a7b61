package dev.ballast.core.run;

import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a journal's header must say about its run so that a replay can rebuild the engine exactly:
 * the layout, the engine's settings, the guest's features and the policy, plus what a reader wants
 * to see (backend, workload, seed, cost profile). Stored as plain {@code key=value} strings.
 */
public record RunManifest(
        String backend,
        String workload,
        String policy,
        long seed,
        RamLayout layout,
        EngineConfig engine,
        GuestFeatures features,
        CostProfile costProfile,
        Postcopy postcopy) {

    public static final String KEY_BACKEND = "backend";
    public static final String KEY_WORKLOAD = "workload";
    public static final String KEY_POLICY = "policy";
    public static final String KEY_SEED = "seed";
    public static final String KEY_LAYOUT = "layout";
    public static final String KEY_ENGINE = "engine";
    public static final String KEY_FEATURES = "features";
    public static final String KEY_COST_PROFILE = "costProfile";
    /** Absent for a pre-copy run (and in journals from before postcopy). */
    public static final String KEY_POSTCOPY = "postcopy";

    public RunManifest {
        if (postcopy == null) postcopy = Postcopy.OFF;
    }

    /** A pre-copy run's manifest. */
    public RunManifest(
            String backend,
            String workload,
            String policy,
            long seed,
            RamLayout layout,
            EngineConfig engine,
            GuestFeatures features,
            CostProfile costProfile) {
        this(backend, workload, policy, seed, layout, engine, features, costProfile, Postcopy.OFF);
    }

    public static RunManifest of(Scenario s) {
        return of(s, s.layout());
    }

    /** The manifest of a run of {@code s} on another layout than its PC-like one (a simulator run of any layout). */
    public static RunManifest of(Scenario s, RamLayout layout) {
        return new RunManifest(
                s.backend(),
                s.workload().toString(),
                s.policy(),
                s.seed(),
                layout,
                s.engineConfig(),
                s.features(),
                s.costProfile(),
                s.postcopy());
    }

    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KEY_BACKEND, backend);
        m.put(KEY_WORKLOAD, workload);
        m.put(KEY_POLICY, policy);
        m.put(KEY_SEED, Long.toString(seed));
        StringBuilder l = new StringBuilder();
        for (RamBlock b : layout.blocks()) {
            if (!l.isEmpty()) l.append(',');
            l.append(b.name()).append('@').append(b.firstPfn()).append('+').append(b.pages());
        }
        m.put(KEY_LAYOUT, l.toString());
        m.put(
                KEY_ENGINE,
                "bandwidthBytesPerSec=" + engine.bandwidthBytesPerSec() + ",downtimeLimitNs=" + engine.downtimeLimitNs()
                        + ",maxIterations=" + engine.maxIterations() + ",timeCapNs=" + engine.timeCapNs()
                        + ",firstCommandId=" + engine.firstCommandId() + ",pagesPerStep=" + engine.pagesPerStep()
                        + ",requestsPerStep=" + engine.requestsPerStep() + ",pageHeaderBytes="
                        + engine.pageHeaderBytes()
                        + (engine.countFinalSync() ? ",countFinalSync=true" : "")
                        + (engine.syncBeforeStop() ? ",syncBeforeStop=true" : "")
                        + (engine.uncappedStop() ? ",uncappedStop=true" : ""));
        m.put(
                KEY_FEATURES,
                "mustTellHost=" + features.mustTellHost() + ",freePageHint=" + features.freePageHint() + ",freeBitmap="
                        + features.freeBitmap() + ",poisonByte=" + features.poisonByte());
        CostProfile c = costProfile;
        m.put(
                KEY_COST_PROFILE,
                "zeroCheckNsPerPage=" + c.zeroCheckNsPerPage() + ",dataCheckNsPerPage=" + c.dataCheckNsPerPage()
                        + ",copyNsPerPage=" + c.copyNsPerPage() + ",scanNsPerPage=" + c.scanNsPerPage()
                        + ",pageHeaderBytes=" + c.pageHeaderBytes() + ",linkLatencyNs=" + c.linkLatencyNs()
                        + ",linkBitsPerSec=" + c.linkBitsPerSec() + ",syncNsPerGiB=" + c.syncNsPerGiB() + ",source="
                        + c.source());
        if (postcopy.enabled()) m.put(KEY_POSTCOPY, postcopy.toString());
        return m;
    }

    /** Rebuilds a manifest from a journal header; a missing or garbled key is one clear error. */
    public static RunManifest fromMetadata(Map<String, String> m) {
        List<RamLayout.Spec> specs = new ArrayList<>();
        for (String part : need(m, KEY_LAYOUT).split(",")) {
            int at = part.lastIndexOf('@');
            int plus = part.lastIndexOf('+');
            if (at <= 0 || plus < at) throw bad(KEY_LAYOUT, part);
            specs.add(new RamLayout.Spec(
                    part.substring(0, at),
                    num(KEY_LAYOUT, part.substring(at + 1, plus)),
                    num(KEY_LAYOUT, part.substring(plus + 1))));
        }
        Fields e = new Fields(KEY_ENGINE, need(m, KEY_ENGINE));
        EngineConfig engine = new EngineConfig(
                e.num("bandwidthBytesPerSec"),
                e.num("downtimeLimitNs"),
                (int) e.num("maxIterations"),
                e.num("timeCapNs"),
                e.num("firstCommandId"),
                (int) e.num("pagesPerStep"),
                (int) e.num("requestsPerStep"),
                (int) e.num("pageHeaderBytes"),
                // a header written before the switch-over estimate counted the final sync has no such field: the old
                // rule
                e.has("countFinalSync") && e.bool("countFinalSync"),
                // written only when set: a header without it syncs at the end of each pass only
                e.has("syncBeforeStop") && e.bool("syncBeforeStop"),
                // written only when set: a header without it throttles the stop-and-copy too
                e.has("uncappedStop") && e.bool("uncappedStop"));
        Fields f = new Fields(KEY_FEATURES, need(m, KEY_FEATURES));
        GuestFeatures features = new GuestFeatures(
                f.bool("mustTellHost"), f.bool("freePageHint"), f.bool("freeBitmap"), (int) f.num("poisonByte"));
        CostProfile cost = CostProfile.defaults();
        if (m.containsKey(KEY_COST_PROFILE)) {
            Fields c = new Fields(KEY_COST_PROFILE, m.get(KEY_COST_PROFILE));
            cost = new CostProfile(
                    c.dbl("zeroCheckNsPerPage"),
                    c.dbl("dataCheckNsPerPage"),
                    c.dbl("copyNsPerPage"),
                    c.dbl("scanNsPerPage"),
                    (int) c.num("pageHeaderBytes"),
                    c.num("linkLatencyNs"),
                    c.num("linkBitsPerSec"),
                    c.num("syncNsPerGiB"),
                    c.text("source"));
        }
        Postcopy postcopy = Postcopy.OFF;
        if (m.containsKey(KEY_POSTCOPY)) {
            try {
                postcopy = Postcopy.fromString(m.get(KEY_POSTCOPY));
            } catch (IllegalArgumentException ex) {
                throw bad(KEY_POSTCOPY, m.get(KEY_POSTCOPY));
            }
        }
        return new RunManifest(
                need(m, KEY_BACKEND),
                need(m, KEY_WORKLOAD),
                need(m, KEY_POLICY),
                num(KEY_SEED, need(m, KEY_SEED)),
                RamLayout.of(specs),
                engine,
                features,
                cost,
                postcopy);
    }

    private static String need(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null || v.isEmpty()) throw new IllegalArgumentException("journal header has no '" + key + "'");
        return v;
    }

    /** The {@code name=value,...} fields of one header key. */
    private static final class Fields {
        private final String key;
        private final Map<String, String> values = new LinkedHashMap<>();

        Fields(String key, String text) {
            this.key = key;
            for (String p : text.split(",")) {
                int eq = p.indexOf('=');
                if (eq <= 0) throw bad(key, p);
                values.put(p.substring(0, eq), p.substring(eq + 1));
            }
        }

        String text(String field) {
            String v = values.get(field);
            if (v == null) throw new IllegalArgumentException("journal header '" + key + "." + field + "' is missing");
            return v;
        }

        long num(String field) {
            return RunManifest.num(key + "." + field, text(field));
        }

        boolean has(String field) {
            return values.containsKey(field);
        }

        double dbl(String field) {
            String v = text(field);
            try {
                return Double.parseDouble(v);
            } catch (NumberFormatException ex) {
                throw bad(key + "." + field, v);
            }
        }

        boolean bool(String field) {
            String v = text(field);
            if (!v.equals("true") && !v.equals("false")) throw bad(key + "." + field, v);
            return v.equals("true");
        }
    }

    private static long num(String key, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw bad(key, v);
        }
    }

    private static IllegalArgumentException bad(String key, String v) {
        return new IllegalArgumentException("journal header '" + key + "' has a bad value '" + v + "'");
    }
}
