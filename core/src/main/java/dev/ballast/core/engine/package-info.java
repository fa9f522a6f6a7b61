/**
 * The migration engine and its seams. {@link dev.ballast.core.engine.MigrationEngine} advances
 * pre-copy in bounded steps against an injected {@link dev.ballast.core.engine.Clock};
 * {@link dev.ballast.core.engine.EngineRunner} is the one loop that drives it (simulator, KVM,
 * replay); {@link dev.ballast.core.engine.Convergence} is the pure convergence rule. A backend
 * plugs in through {@link dev.ballast.core.engine.SourceGuest} (the guest) and
 * {@link dev.ballast.core.engine.PageLink} (the way to the destination).
 *
 * <p>May depend on {@code core.mem}, {@code core.event} (what it publishes) and
 * {@code core.policy} (the hooks it calls); never on a backend, the journal or the command line.
 */
package dev.ballast.core.engine;
