/**
 * Migration policies: {@link dev.ballast.core.policy.MigrationPolicy} (hooks with no-op
 * defaults, given a {@link dev.ballast.core.policy.PolicyContext}), the built-in ones and
 * {@link dev.ballast.core.policy.Policies}, which finds one by name or class name. A new built-in
 * policy is a class here, named in {@code Policies}.
 *
 * <p>May depend on {@code core.engine} (value types), {@code core.event}, {@code core.mem} and
 * {@code core.run}; never on a backend.
 */
package dev.ballast.core.policy;
