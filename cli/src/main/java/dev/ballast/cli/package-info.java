/**
 * The {@code ballast} command (picocli): options parsed into a typed scenario, backends found by
 * name, every message and table a terminal shows, exit codes. May depend on every module; names no
 * backend's class for {@code run} ({@code ballast dest} uses {@code kvm.dest} and
 * {@code kvm.source} directly).
 */
package dev.ballast.cli;
