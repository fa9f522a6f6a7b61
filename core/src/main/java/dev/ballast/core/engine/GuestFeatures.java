package dev.ballast.core.engine;

/**
 * What the guest's balloon device negotiated.
 *
 * @param mustTellHost  the guest tells the host before it reuses a deflated page (VIRTIO_BALLOON_F_MUST_TELL_HOST)
 * @param freePageHint  the guest answers free page hint requests (VIRTIO_BALLOON_F_FREE_PAGE_HINT)
 * @param freeBitmap    the guest answers whole free page bitmap requests (the earlier design)
 * @param poisonByte    the value the guest fills free pages with; 0 when it does not poison (VIRTIO_BALLOON_F_PAGE_POISON)
 */
public record GuestFeatures(boolean mustTellHost, boolean freePageHint, boolean freeBitmap, int poisonByte) {}
