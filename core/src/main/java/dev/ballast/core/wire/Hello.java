package dev.ballast.core.wire;

import dev.ballast.core.mem.RamLayout;

/**
 * A handshake as the destination received it.
 *
 * @param version    the protocol version the source speaks
 * @param sessionId  the source's id for the migration (a run id); a resumed migration reuses it
 * @param poisonByte the value the guest fills free pages with, 0 when it does not poison
 * @param layout     the source's layout, blocks in the source's order: wire block id i is {@code layout.block(i)}
 * @param recover    (version 4) the HELLO resumes a postcopy migration after a link failure: the guest runs on
 *                   the destination already
 */
public record Hello(int version, long sessionId, int poisonByte, RamLayout layout, boolean recover) {
    /** A handshake that starts (or resumes) a migration whose guest still runs on the source. */
    public Hello(int version, long sessionId, int poisonByte, RamLayout layout) {
        this(version, sessionId, poisonByte, layout, false);
    }
}
