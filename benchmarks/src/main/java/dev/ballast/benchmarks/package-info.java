/**
 * JMH benchmarks of the hot paths (bitmap walk, journal append and read, the fold, the QEMU stream
 * reader) and probes. May depend on any module; nothing depends on it.
 */
package dev.ballast.benchmarks;
