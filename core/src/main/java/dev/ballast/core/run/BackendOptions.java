package dev.ballast.core.run;

import dev.ballast.core.wire.WireSecret;

import java.net.InetSocketAddress;

/**
 * How a backend is to run a scenario, beside the scenario itself: where the destination is and how
 * it is made. Every backend receives the same record through {@link Backend#check} and
 * {@link Backend#run}, and refuses with a {@link SettingException} what it cannot do (the simulator
 * has no destination VM to preallocate, nor one in another process); nothing else decides which
 * backend gets which option.
 *
 * @param preallocate whether the destination allocates all of its memory before each migration
 *                    starts (as QEMU's {@code -mem-prealloc}), so pages arriving pay no first-touch fault
 * @param destination a destination in another process, or null for one in this process
 */
public record BackendOptions(boolean preallocate, Destination destination) {
    /** A destination in this process that allocates its memory as pages arrive. */
    public static final BackendOptions DEFAULTS = new BackendOptions(false, null);

    /**
     * A destination in another process, reached over TCP.
     *
     * @param secret    proven to it before the handshake (null: none)
     * @param timeoutNs a peer that moves no byte this long while a read or write waits is stalled (0: never)
     */
    public record Destination(InetSocketAddress address, WireSecret secret, long timeoutNs) {
        public Destination {
            if (timeoutNs < 0) throw new SettingException("timeout", Units.formatDuration(timeoutNs), "must be >= 0");
        }
    }
}
