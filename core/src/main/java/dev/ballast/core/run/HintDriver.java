package dev.ballast.core.run;

import java.util.Locale;

/**
 * Which free page hint driver the guest runs (workload parameter {@code hint-driver}).
 */
public enum HintDriver {
    /**
     * As Linux 6.x writes it ({@code drivers/virtio/virtio_balloon.c}): it allocates free blocks of
     * the driver's fixed order (4 MiB on x86) through the guest's allocator, with the guest's
     * allocation options (zeroing under {@code init-on-alloc}), until an allocation fails; it
     * reports each block, holds it until the host says done (a stop only ends the run of reports;
     * a new request keeps what the last one holds), and a shrinker gives held blocks back under
     * memory pressure. The default.
     */
    LINUX,
    /**
     * Linux's driver with one change to its protocol: its shrinker gives back only blocks whose
     * report the host has taken (their buffer is back in the used ring), never one still in
     * flight. See {@code docs/findings.md}, finding 1.
     */
    LINUX_ACKED,
    /**
     * Ballast's idealised driver: it takes aligned free blocks from the free list at a fixed rate
     * without writing them, reports runs of them, and gives everything back at done and at every
     * new request.
     */
    IDEAL;

    public static HintDriver parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "linux" -> LINUX;
            case "linux-acked" -> LINUX_ACKED;
            case "ideal" -> IDEAL;
            default ->
                throw new SettingException(
                        "hint-driver",
                        text,
                        "expected linux (the driver Linux ships), linux-acked (its shrinker waits for the host) or ideal");
        };
    }

    /** Whether this is Linux's driver (as shipped or with the acknowledged shrinker). */
    public boolean linux() {
        return this != IDEAL;
    }

    /** As the user writes it: {@code linux}, {@code linux-acked} or {@code ideal}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
