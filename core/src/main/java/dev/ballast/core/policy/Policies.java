package dev.ballast.core.policy;

import dev.ballast.core.run.SettingException;
import java.util.List;
import java.util.function.Supplier;

/** The built-in policies by name; a user's own by its class name. */
public final class Policies {
    private Policies() {}

    public static final List<String> BUILT_IN =
            List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon", "balloon-zero", "report", "hint+report");

    /**
     * A new policy: a built-in name, or the fully qualified name of a class on the class path that
     * implements {@link MigrationPolicy} with a public no-argument constructor.
     */
    public static MigrationPolicy create(String name) {
        return factory(name).get();
    }

    public static Supplier<MigrationPolicy> factory(String name) {
        return switch (name) {
            case "legacy" -> LegacyPolicy::new;
            case "balloon" -> BalloonPolicy::new;
            case "hint" -> HintPolicy::new;
            case "bitmap" -> FreeBitmapPolicy::new;
            case "hint+balloon" -> HintBalloonPolicy::new;
            case "balloon-zero" -> BalloonZeroPolicy::new;
            case "report" -> ReportPolicy::new;
            case "hint+report" -> HintReportPolicy::new;
            default -> userPolicy(name);
        };
    }

    private static Supplier<MigrationPolicy> userPolicy(String name) {
        if (!name.contains(".")) {
            throw new SettingException(
                    "policy",
                    name,
                    "unknown (one of " + String.join(", ", BUILT_IN) + ", or a class name implementing "
                            + MigrationPolicy.class.getName() + ")");
        }
        Class<?> c;
        try {
            c = Class.forName(name);
        } catch (ClassNotFoundException e) {
            throw new SettingException("policy", name, "no such class on the class path");
        }
        if (!MigrationPolicy.class.isAssignableFrom(c)) {
            throw new SettingException("policy", name, "does not implement " + MigrationPolicy.class.getName());
        }
        return () -> {
            try {
                return (MigrationPolicy) c.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new SettingException("policy", name, "cannot be created: " + e);
            }
        };
    }
}
