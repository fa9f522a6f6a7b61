package dev.ballast.kvm.machine;

import dev.ballast.kvm.mem.DirtyLogMode;

/**
 * Settings of a {@link KvmMachine}.
 *
 * @param ramBytes     guest RAM, a positive multiple of 2 MiB
 * @param dirtyLogMode how the dirty log is read
 * @param idleSpins    empty polls of the command ring before the guest sleeps in {@code PORT_SLEEP}
 *                     (an exit); about 20 ns each
 */
public record MachineConfig(long ramBytes, DirtyLogMode dirtyLogMode, long idleSpins) {
    public static final long DEFAULT_IDLE_SPINS = 20_000;

    public MachineConfig {
        if (ramBytes <= 0 || ramBytes % (2L << 20) != 0) {
            throw new IllegalArgumentException("ramBytes must be a positive multiple of 2 MiB: ramBytes=" + ramBytes);
        }
        if (idleSpins < 1) {
            throw new IllegalArgumentException("idleSpins must be at least 1: idleSpins=" + idleSpins);
        }
    }

    public static MachineConfig ofRam(long ramBytes) {
        return new MachineConfig(ramBytes, DirtyLogMode.GET, DEFAULT_IDLE_SPINS);
    }

    public MachineConfig withDirtyLogMode(DirtyLogMode mode) {
        return new MachineConfig(ramBytes, mode, idleSpins);
    }
}
