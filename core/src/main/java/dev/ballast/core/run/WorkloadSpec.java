package dev.ballast.core.run;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A workload and its parameters as the user wrote them: {@code name[:arg][,key=value...]}, for
 * example {@code idle}, {@code balloon:25}, {@code random-write,rate=200MiB/s}, or
 * {@code compile,ws=30%}. The backends give the parameters their meaning.
 */
public record WorkloadSpec(String name, String arg, Map<String, String> params) {

    public static final java.util.List<String> NAMES =
            java.util.List.of("idle", "memhog", "compile", "random-write", "balloon", "deflate-race");

    public WorkloadSpec {
        if (!NAMES.contains(name)) {
            throw new SettingException("workload", name, "unknown workload (one of " + String.join(", ", NAMES) + ")");
        }
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    public static WorkloadSpec parse(String text) {
        if (text == null || text.isBlank()) throw new SettingException("workload", null, "empty");
        String[] parts = text.trim().split(",");
        String head = parts[0];
        String name = head;
        String arg = null;
        int colon = head.indexOf(':');
        if (colon >= 0) {
            name = head.substring(0, colon);
            arg = head.substring(colon + 1);
            if (arg.isEmpty()) throw new SettingException("workload", text, "nothing after ':'");
        }
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i];
            int eq = p.indexOf('=');
            if (eq <= 0 || eq == p.length() - 1) {
                throw new SettingException("workload", text, "parameter '" + p + "' is not key=value");
            }
            params.put(p.substring(0, eq), p.substring(eq + 1));
        }
        return new WorkloadSpec(name, arg, params);
    }

    /** A parameter, or the default when absent. */
    public String param(String key, String dflt) {
        return params.getOrDefault(key, dflt);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name);
        if (arg != null) sb.append(':').append(arg);
        params.forEach((k, v) -> sb.append(',').append(k).append('=').append(v));
        return sb.toString();
    }
}
