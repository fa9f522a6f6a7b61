package dev.ballast.core.event;

/** Why a link failed; the code is what the journal stores. */
public enum FailureCause {
    INJECTED,
    PEER_CLOSED,
    TIMEOUT,
    PROTOCOL,
    IO;

    public static FailureCause byCode(long code) {
        FailureCause[] all = values();
        return code >= 0 && code < all.length ? all[(int) code] : IO;
    }
}
