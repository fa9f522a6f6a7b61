package dev.ballast.core.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EngineRunnerTest {

    /** A hand clock. */
    static final class HandClock implements Clock {
        long now;

        @Override
        public long nanoTime() {
            return now;
        }
    }

    /**
     * A fake engine: each step does the work its script says (0 = throttled until {@code now + wait});
     * done after the script, or never with {@code endless}.
     */
    static final class ScriptedEngine implements EngineRunner.Steppable {
        final HandClock clock;
        final int[] work;
        final long wait;
        final boolean endless;
        int step;
        long wakeAt;
        boolean cancelled;
        final List<String> log = new ArrayList<>();

        ScriptedEngine(HandClock clock, long wait, boolean endless, int... work) {
            this.clock = clock;
            this.work = work;
            this.wait = wait;
            this.endless = endless;
        }

        @Override
        public int doWork() {
            int w = endless ? 0 : work[step];
            step++;
            wakeAt = w == 0 ? clock.now + wait : 0;
            log.add("step " + step + " at " + clock.now);
            return w;
        }

        @Override
        public boolean done() {
            return !endless && step >= work.length;
        }

        @Override
        public long wakeAtNs() {
            return wakeAt;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    @Test
    void shouldStepUntilTheEngineIsDoneWithHooksAroundEachStep() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 10, false, 1, 2, 3);
        List<String> hooks = new ArrayList<>();
        EngineRunner runner =
                new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 100, Long.MAX_VALUE, Long.MAX_VALUE);
        long steps = runner.run(
                e,
                new EngineRunner.StepHooks() {
                    @Override
                    public void beforeStep() {
                        hooks.add("before");
                    }

                    @Override
                    public void afterStep(long step, int work) {
                        hooks.add("after " + step + ":" + work);
                    }
                },
                () -> hooks.add("progress"),
                "");
        assertThat(steps).isEqualTo(3);
        assertThat(hooks).containsExactly("before", "after 1:1", "before", "after 2:2", "before", "after 3:3");
        assertThat(e.cancelled).isFalse();
    }

    @Test
    void shouldIdleUntilTheEngineWakesOnlyAfterAStepThatDidNothing() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 250, false, 1, 0, 1, 0, 1);
        List<Long> idled = new ArrayList<>();
        EngineRunner.IdleStrategy advance = wakeAt -> {
            idled.add(wakeAt);
            clock.now = Math.max(clock.now, wakeAt);
        };
        new EngineRunner(clock, advance, 100, Long.MAX_VALUE, Long.MAX_VALUE)
                .run(e, EngineRunner.StepHooks.NONE, () -> {}, "");
        assertThat(idled).containsExactly(250L, 500L);
        assertThat(e.log)
                .containsExactly("step 1 at 0", "step 2 at 0", "step 3 at 250", "step 4 at 250", "step 5 at 500");
    }

    @Test
    void shouldCancelAndSayInOneLineWhenTheMigrationDoesNotEndWithinTheBound() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 0, true);
        EngineRunner runner =
                new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 1000, Long.MAX_VALUE, Long.MAX_VALUE);
        assertThatThrownBy(() -> runner.run(e, EngineRunner.StepHooks.NONE, () -> {}, " (seed 42)"))
                .isInstanceOf(EngineRunner.StepBoundExceeded.class)
                .hasMessage("the migration did not end within 1000 steps (seed 42)");
        assertThat(e.step).isEqualTo(1000);
        assertThat(e.cancelled).isTrue();
    }

    @Test
    void shouldNotThrowWhenTheLastStepAllowedEndsTheMigration() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 0, false, 1, 1, 1);
        long steps = new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 3, Long.MAX_VALUE, Long.MAX_VALUE)
                .run(e, EngineRunner.StepHooks.NONE, () -> {}, "");
        assertThat(steps).isEqualTo(3);
    }

    @Test
    void shouldReportProgressEveryNSteps() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 0, false, ones(10));
        List<Integer> at = new ArrayList<>();
        new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 100, 4, Long.MAX_VALUE)
                .run(e, EngineRunner.StepHooks.NONE, () -> at.add(e.step), "");
        assertThat(at).containsExactly(4, 8);
    }

    @Test
    void shouldReportProgressEveryIntervalOfClockTime() {
        HandClock clock = new HandClock();
        ScriptedEngine e = new ScriptedEngine(clock, 0, false, ones(10));
        List<Integer> at = new ArrayList<>();
        EngineRunner.StepHooks tick = new EngineRunner.StepHooks() {
            @Override
            public void afterStep(long step, int work) {
                clock.now += 30;
            }
        };
        new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 100, Long.MAX_VALUE, 100)
                .run(e, tick, () -> at.add(e.step), "");
        // 30 ns a step: 100 ns have passed after steps 4 (120) and 8 (240 - 120 = 120)
        assertThat(at).containsExactly(4, 8);
    }

    @Test
    void shouldParkUntilTheWakeUpAtMostTheLongestParkAndNotAtAllWhenItHasPassed() {
        HandClock clock = new HandClock();
        clock.now = 1_000;
        List<Long> parks = new ArrayList<>();
        EngineRunner.IdleStrategy idle = EngineRunner.IdleStrategy.parking(clock, 500, parks::add);
        idle.idle(1_200);
        idle.idle(5_000);
        idle.idle(1_000);
        idle.idle(0);
        assertThat(parks).containsExactly(200L, 500L);
    }

    @Test
    void shouldRejectABoundOfNoSteps() {
        assertThatThrownBy(() -> new EngineRunner(new HandClock(), EngineRunner.IdleStrategy.NONE, 0, 1, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxSteps=0");
    }

    @Test
    void shouldCountTheProgressIntervalFromTheRunsStartAndReportWhenItIsReachedExactly() {
        HandClock clock = new HandClock();
        clock.now = 1_000;
        ScriptedEngine e = new ScriptedEngine(clock, 0, false, ones(10));
        List<Integer> at = new ArrayList<>();
        EngineRunner.StepHooks tick = new EngineRunner.StepHooks() {
            @Override
            public void afterStep(long step, int work) {
                clock.now += 25;
            }
        };
        new EngineRunner(clock, EngineRunner.IdleStrategy.NONE, 100, Long.MAX_VALUE, 100)
                .run(e, tick, () -> at.add(e.step), "");
        // from 1,000: 100 ns have passed after step 4 (1,100) and step 8 (1,200)
        assertThat(at).containsExactly(4, 8);
    }

    @Test
    void shouldRejectAProgressIntervalOfNothingAndAParkOfNoTime() {
        HandClock c = new HandClock();
        assertThat(new EngineRunner(c, EngineRunner.IdleStrategy.NONE, 1, 1, 1)).isNotNull();
        assertThatThrownBy(() -> new EngineRunner(c, EngineRunner.IdleStrategy.NONE, 1, 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("progressEverySteps=0");
        assertThatThrownBy(() -> new EngineRunner(c, EngineRunner.IdleStrategy.NONE, 1, 1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("progressEveryNs=0");
        assertThat(EngineRunner.IdleStrategy.parking(c, 1)).isNotNull();
        assertThatThrownBy(() -> EngineRunner.IdleStrategy.parking(c, 0, x -> {}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxParkNs=0");
    }

    private static int[] ones(int n) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }
}
