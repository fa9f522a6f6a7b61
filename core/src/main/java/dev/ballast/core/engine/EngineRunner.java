package dev.ballast.core.engine;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * The one loop that drives a {@link MigrationEngine} to its end, for the simulator, the KVM
 * backend and the replay alike: step the engine; when a step did nothing, idle until the engine's
 * {@link MigrationEngine#wakeAtNs() wake-up time} in whatever time its clock keeps; stop at a step
 * bound; report progress now and then. (Agrona's {@code AgentRunner} with an idle strategy, on the
 * calling thread.)
 *
 * <p>The bound: a migration that takes more than {@link #maxSteps} steps is a bug (a loop that
 * stopped making progress), not a slow run. The runner then cancels the engine and throws one
 * {@link StepBoundExceeded} whose message says so in one line, with the caller's context (a seed,
 * a hop), instead of hanging.
 *
 * @param clock              the time progress is paced by; read only when {@code progressEveryNs} is set (a
 *                           replay's clock is its recording, read by the engine alone)
 * @param idle               what a step that did nothing is followed by
 * @param maxSteps           the step bound, &gt; 0
 * @param progressEverySteps report progress after this many steps (Long.MAX_VALUE: never by steps)
 * @param progressEveryNs    or after this much {@code clock} time (Long.MAX_VALUE: never by time)
 */
public record EngineRunner(
        Clock clock, IdleStrategy idle, long maxSteps, long progressEverySteps, long progressEveryNs) {

    public EngineRunner {
        if (clock == null || idle == null) throw new IllegalArgumentException("clock and idle are required");
        if (maxSteps <= 0) throw new IllegalArgumentException("maxSteps=" + maxSteps + " must be > 0");
        if (progressEverySteps <= 0)
            throw new IllegalArgumentException("progressEverySteps=" + progressEverySteps + " must be > 0");
        if (progressEveryNs <= 0)
            throw new IllegalArgumentException("progressEveryNs=" + progressEveryNs + " must be > 0");
    }

    /** What the runner drives: a {@link MigrationEngine} ({@link #of}), or a test's fake. */
    public interface Steppable {
        /** One bounded step; how much it did (0: nothing to do before {@link #wakeAtNs()}). */
        int doWork();

        /** Whether the migration has ended (completed, failed or cancelled). */
        boolean done();

        /** When a step that did nothing should be followed by the next (0: at once). */
        long wakeAtNs();

        /** Asks the engine to end at its next step. */
        void cancel();
    }

    /** What follows a step that did nothing: waiting until the engine's wake-up time, in its clock's time. */
    @FunctionalInterface
    public interface IdleStrategy {
        void idle(long wakeAtNs);

        /** No waiting: the engine's clock moves by itself (a replay's recorded clock). */
        IdleStrategy NONE = wakeAtNs -> {};

        /**
         * Parks the thread until {@code wakeAtNs} of {@code clock}, at most {@code maxParkNs} at a
         * time (so the caller's hooks still run now and then); no wait when the time has passed.
         */
        static IdleStrategy parking(Clock clock, long maxParkNs) {
            return parking(clock, maxParkNs, LockSupport::parkNanos);
        }

        /** {@link #parking(Clock, long)} with the park itself given (tests record it). */
        static IdleStrategy parking(Clock clock, long maxParkNs, LongConsumer park) {
            if (maxParkNs <= 0) throw new IllegalArgumentException("maxParkNs=" + maxParkNs + " must be > 0");
            return wakeAtNs -> {
                long wait = wakeAtNs - clock.nanoTime();
                if (wait > 0) park.accept(Math.min(wait, maxParkNs));
            };
        }
    }

    /** The caller's work around each step (a simulator runs its guest before, a backend checks its VM after). */
    public interface StepHooks {
        default void beforeStep() {}

        /** After the step, before any idling; {@code step} counts from 1. */
        default void afterStep(long step, int work) {}

        StepHooks NONE = new StepHooks() {};
    }

    /** The migration did not end within the step bound. */
    public static final class StepBoundExceeded extends IllegalStateException {
        StepBoundExceeded(String message) {
            super(message);
        }
    }

    /** A {@link MigrationEngine} as the runner sees it. */
    public static Steppable of(MigrationEngine engine) {
        return new Steppable() {
            @Override
            public int doWork() {
                return engine.doWork();
            }

            @Override
            public boolean done() {
                return engine.phase().isTerminal();
            }

            @Override
            public long wakeAtNs() {
                return engine.wakeAtNs();
            }

            @Override
            public void cancel() {
                engine.cancel();
            }
        };
    }

    /**
     * Steps {@code engine} until it is done.
     *
     * @param progress      called when the progress interval has passed (and not after the last step)
     * @param boundContext  appended to the bound's message, e.g. {@code " (seed 42)"}; may be empty
     * @return the steps taken
     * @throws StepBoundExceeded after {@link #maxSteps} steps that did not end the migration (the engine is cancelled)
     */
    public long run(Steppable engine, StepHooks hooks, Runnable progress, String boundContext) {
        long steps = 0;
        long lastProgressStep = 0;
        long lastProgressNs =
                progressEveryNs == Long.MAX_VALUE ? 0 : clock.nanoTime(); // a replay's clock is read only by its engine
        while (!engine.done()) {
            hooks.beforeStep();
            int work = engine.doWork();
            steps++;
            hooks.afterStep(steps, work);
            if (work == 0 && !engine.done()) idle.idle(engine.wakeAtNs());
            if (engine.done()) break;
            if (steps >= maxSteps) {
                engine.cancel();
                throw new StepBoundExceeded("the migration did not end within " + maxSteps + " steps" + boundContext);
            }
            if (steps - lastProgressStep >= progressEverySteps) {
                lastProgressStep = steps;
                progress.run();
            } else if (progressEveryNs != Long.MAX_VALUE) {
                long now = clock.nanoTime();
                if (now - lastProgressNs >= progressEveryNs) {
                    lastProgressNs = now;
                    progress.run();
                }
            }
        }
        return steps;
    }
}
