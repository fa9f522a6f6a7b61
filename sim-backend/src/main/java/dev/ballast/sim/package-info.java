/**
 * The deterministic simulated guest as a backend ({@code --backend sim}). The simulated parts:
 * {@link dev.ballast.sim.SimGuest} (memory, allocator, balloon and hint drivers, poisoning, dirty
 * log), {@link dev.ballast.sim.Workload}, {@link dev.ballast.sim.SimLink} and
 * {@link dev.ballast.sim.SimDestination}, on the virtual clock of {@link dev.ballast.sim.SimCosts},
 * driven by {@link dev.ballast.sim.SimRun}. Apart from them, one checker per invariant of
 * {@code docs/invariants.md} ({@code *Checker}, held by {@link dev.ballast.sim.SimCheckers}), and
 * every knob that is not the scenario's in {@link dev.ballast.sim.SimOptions}. Depends on
 * {@code dev.ballast.core} only.
 */
package dev.ballast.sim;
