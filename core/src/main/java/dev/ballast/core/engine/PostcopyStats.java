package dev.ballast.core.engine;

/**
 * Postcopy's figures of one migration, as the engine counts them (and {@code RunFold} from its events).
 *
 * @param switched            the migration switched to postcopy
 * @param switchOverNs        the downtime of the switch-over: from the pause to the guest's resumption on the destination
 * @param bytesBefore         bytes sent before the switch-over (all of them, for a migration that did not switch)
 * @param bytesAfter          bytes sent after it (QEMU's {@code postcopy-bytes})
 * @param discardedPages      pages the destination was told are stale
 * @param requestedPages      pages the destination asked for (QEMU's {@code postcopy-requests} counts requests; here pages)
 * @param unservedPages       requested pages the source did not send (it holds them as sent, or skipped them on purpose)
 * @param balloonBitmapBytes  bytes of the balloon bitmap sent at the switch-over
 * @param recoveries          postcopy recoveries after link failures
 */
public record PostcopyStats(
        boolean switched,
        long switchOverNs,
        long bytesBefore,
        long bytesAfter,
        long discardedPages,
        long requestedPages,
        long unservedPages,
        long balloonBitmapBytes,
        int recoveries) {}
