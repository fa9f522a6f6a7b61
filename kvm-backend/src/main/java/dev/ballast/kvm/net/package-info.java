/**
 * Byte channels for the page stream: in-memory pipes, sockets and the stall guard. May depend on
 * {@code core.wire} and {@code kvm.sys}.
 */
package dev.ballast.kvm.net;
