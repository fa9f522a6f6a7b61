/**
 * Journals read back: {@link dev.ballast.replay.Replay} (the engine re-run from the recorded
 * inputs, every decision checked), {@link dev.ballast.replay.JournalRecorder} (the journal every
 * run writes, with state checkpoints), {@link dev.ballast.replay.JournalQueries} (replay, a page's
 * history, the state at an event, the difference of two journals, as data) and
 * {@link dev.ballast.replay.RunState}.
 *
 * <p>May depend on {@code core} and {@code journal}; never on a backend or the command line (the
 * wording a terminal shows is the command line's).
 */
package dev.ballast.replay;
