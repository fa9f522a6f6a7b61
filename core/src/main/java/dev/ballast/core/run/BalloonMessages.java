package dev.ballast.core.run;

import java.util.Locale;

/** How the guest's balloon driver sends the page ranges of its inflate and deflate requests. */
public enum BalloonMessages {
    /** Arrays of PFNs, as virtio-balloon's inflate and deflate queues carry them. */
    PFN,
    /** Bitmaps of pages (the {@code 004_…} series). */
    BITMAP;

    /** {@code pfn} or {@code bitmap}, in any case. */
    public static BalloonMessages parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "pfn" -> PFN;
            case "bitmap" -> BITMAP;
            default -> throw new SettingException("balloon-messages", text, "expected pfn (PFN arrays) or bitmap");
        };
    }

    /** As the user writes it: {@code pfn} or {@code bitmap}. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
