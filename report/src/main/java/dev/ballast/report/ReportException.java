package dev.ballast.report;

/**
 * A run cannot be drawn: its events are damaged, unreadable or say nothing. The message is one line
 * that names the run and, where there is one, the event at fault; a command line prints it as is.
 */
public final class ReportException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ReportException(String message) {
        super(message);
    }

    public ReportException(String message, Throwable cause) {
        super(message, cause);
    }
}
