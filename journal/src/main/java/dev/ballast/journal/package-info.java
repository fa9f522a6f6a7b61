/**
 * The run journal: every event of a run, in order, in one Chronicle Queue directory.
 *
 * <ul>
 *   <li>{@link dev.ballast.journal.JournalWriter} — the {@link dev.ballast.core.event.EventSink}
 *       producers publish into (Disruptor ring, one consumer batching into Chronicle).</li>
 *   <li>{@link dev.ballast.journal.JournalReader} — sequential and seekable reading, checkpoints,
 *       digest verification; damage is a {@link dev.ballast.journal.JournalException} with a
 *       position.</li>
 *   <li>{@link dev.ballast.journal.JournalFormat} and {@link dev.ballast.journal.RecordDescriptor} —
 *       the on-disk layout; {@link dev.ballast.journal.EventRecord} — the flyweight over a record;
 *       {@link dev.ballast.journal.EventDissector} — prints a record from the fields
 *       {@link dev.ballast.core.event.EventType} defines; {@link dev.ballast.journal.JournalDigest} — the stream digest.</li>
 * </ul>
 */
package dev.ballast.journal;
