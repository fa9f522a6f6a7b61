/**
 * A run as every backend receives it and reports it: the typed
 * {@link dev.ballast.core.run.Scenario} and {@link dev.ballast.core.run.BackendOptions}, validated
 * once ({@link dev.ballast.core.run.SettingException}), the {@link dev.ballast.core.run.Backend}
 * seam (found by name through {@code ServiceLoader}), {@link dev.ballast.core.run.DriverOptions},
 * and the {@link dev.ballast.core.run.RunReport} built by {@link dev.ballast.core.run.RunReports}.
 *
 * <p>May depend on {@code core.engine}, {@code core.event}, {@code core.mem} and {@code core.wire};
 * never on a backend or the command line.
 */
package dev.ballast.core.run;
