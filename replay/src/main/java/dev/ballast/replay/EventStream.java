package dev.ballast.replay;

/** Recorded events in order: a journal, or anything else that recorded a run. */
@FunctionalInterface
public interface EventStream {
    /** Fills {@code into} with the next event; false at the end. */
    boolean next(Event into);
}
