/**
 * The event catalogue and its one fold: what every journal, replay, inspection and report reads.
 *
 * <ul>
 *   <li>{@link dev.ballast.core.event.EventType} — every event, one definition each: its stable id,
 *       what it is to a replay (input, decision, info), its fields {@code a, b, c}
 *       ({@link dev.ballast.core.event.EventField}: name, {@link dev.ballast.core.event.FieldFormat},
 *       meaning), and the encoders and decoders of fields that pack more than one number
 *       ({@code SendFill}, {@code Content}, {@code HintCommand}, {@code Balloon}).
 *       {@link dev.ballast.core.event.FailureCause} and {@link dev.ballast.core.event.RejectReason}
 *       are the codes two fields store.</li>
 *   <li>{@link dev.ballast.core.event.EventSink} — where the engine and the guests publish.</li>
 *   <li>{@link dev.ballast.core.event.RunFold} — a run as its events tell it: the state at any
 *       event (checkpoints, {@code inspect --at}, {@code diff}) and the counters a run's report
 *       and the HTML report show, held against the engine's own counters by a test.</li>
 * </ul>
 *
 * <p>Depends on {@code core.mem} (the fold's bitmaps and layout) and, to print and count them, on
 * the engine's value types {@code Phase}, {@code Convergence.Decision}, {@code EngineStats} and on
 * {@code CommandIds}; never on the engine itself or on a backend.
 */
package dev.ballast.core.event;
