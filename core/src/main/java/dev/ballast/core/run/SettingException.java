package dev.ballast.core.run;

/**
 * A setting that a scenario, a backend or a destination refuses: which one, the value it was
 * given and the rule the value breaks. Thrown once, where the settings are checked (as Aeron's
 * {@code Context.conclude()} throws its {@code ConfigurationException}); whoever took the value
 * from a user words it for them: the command line as {@code --name VALUE: rule}, with the value as
 * the user typed it.
 *
 * <p>{@link #getMessage()} is {@code name=value: rule} (or {@code name: rule} without a value), for
 * logs and for callers that are not a command line.
 *
 * @see Scenario
 */
public class SettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String name;
    private final String value;
    private final String rule;

    /**
     * @param name  the setting, spelt as its command-line option without the dashes ({@code mem}, {@code fail-at})
     * @param value the value refused, as text (null: the setting is refused whatever its value, e.g. a flag)
     * @param rule  what the value must be, or why it cannot be used, in a user's words
     */
    public SettingException(String name, String value, String rule) {
        super(value == null ? name + ": " + rule : name + "=" + value + ": " + rule);
        this.name = name;
        this.value = value;
        this.rule = rule;
    }

    /** The setting's name, as its command-line option without the dashes. */
    public String name() {
        return name;
    }

    /** The value refused, or null. */
    public String value() {
        return value;
    }

    /** The rule the value breaks. */
    public String rule() {
        return rule;
    }
}
