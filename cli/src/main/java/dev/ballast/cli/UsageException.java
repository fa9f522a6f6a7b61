package dev.ballast.cli;

/** A bad command line found after parsing (a setting the scenario or the backend refuses): exit code 2. */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }

    UsageException(String message) {
        super(message);
    }
}
