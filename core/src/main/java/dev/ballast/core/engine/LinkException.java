package dev.ballast.core.engine;

import dev.ballast.core.event.FailureCause;

/** The link to the destination failed. */
public class LinkException extends Exception {
    private static final long serialVersionUID = 1L;
    private final FailureCause cause;

    public LinkException(FailureCause cause, String message) {
        super(message);
        this.cause = cause;
    }

    public FailureCause failureCause() {
        return cause;
    }
}
