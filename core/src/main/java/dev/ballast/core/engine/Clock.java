package dev.ballast.core.engine;

/** Time as the engine sees it: the simulator's virtual clock, the wall clock, or a test's hand. */
@FunctionalInterface
public interface Clock {
    long nanoTime();

    Clock SYSTEM = System::nanoTime;
}
