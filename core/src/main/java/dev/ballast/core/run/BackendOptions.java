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
 * @param userBuild   a user's own VMM binary, guest kernel or initramfs to run instead of Ballast's
 *                    ({@code --qemu}, {@code --kernel}, {@code --initrd}; the qemu backend), or {@link UserBuild#NONE}
 */
public record BackendOptions(boolean preallocate, Destination destination, UserBuild userBuild) {
    /** A destination in this process that allocates its memory as pages arrive. */
    public static final BackendOptions DEFAULTS = new BackendOptions(false, null);

    public BackendOptions {
        if (userBuild == null) userBuild = UserBuild.NONE;
    }

    /** Ballast's own VMM and guest. */
    public BackendOptions(boolean preallocate, Destination destination) {
        this(preallocate, destination, UserBuild.NONE);
    }

    /**
     * A user's own build of what a backend runs, each null for the backend's own: the VMM binary
     * ({@code --qemu PATH}), the guest's kernel ({@code --kernel PATH}) and initramfs ({@code --initrd PATH}).
     * A backend that runs no such thing refuses any of them in its {@code check} ({@link #refuseIn}).
     */
    public record UserBuild(String vmm, String kernel, String initrd) {
        public static final UserBuild NONE = new UserBuild(null, null, null);

        public boolean isNone() {
            return vmm == null && kernel == null && initrd == null;
        }

        /** Throws for the first one given: {@code backend} runs none of them. */
        public void refuseIn(String backend) {
            String rule = "only the qemu backend runs a user's own build; the " + backend + " backend runs its own";
            if (vmm != null) throw new SettingException("qemu", vmm, rule);
            if (kernel != null) throw new SettingException("kernel", kernel, rule);
            if (initrd != null) throw new SettingException("initrd", initrd, rule);
        }
    }

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
