/**
 * The page stream of {@code docs/wire-protocol.md}: records
 * ({@link dev.ballast.core.wire.WireFormat}, {@link dev.ballast.core.wire.RecordType}), the
 * {@link dev.ballast.core.wire.PageStreamWriter} a source writes with and the validating
 * {@link dev.ballast.core.wire.PageStreamReader} a destination reads with into a
 * {@link dev.ballast.core.wire.PageSink}, authentication and the stream digest.
 *
 * <p>May depend on {@code core.engine} (value types), {@code core.event}, {@code core.hash} and
 * {@code core.mem}; never on a backend.
 */
package dev.ballast.core.wire;
