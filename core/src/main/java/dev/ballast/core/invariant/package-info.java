/**
 * The invariants every migration must keep, by number and name ({@link dev.ballast.core.invariant.Invariant}),
 * and the words a broken one is reported in. {@code docs/invariants.md} explains each of them; a test keeps the two
 * alike. Depends on nothing else of Ballast: every backend's checkers and the command line use it.
 */
package dev.ballast.core.invariant;
