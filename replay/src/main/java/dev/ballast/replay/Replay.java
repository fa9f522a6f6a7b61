package dev.ballast.replay;

import dev.ballast.core.engine.Clock;
import dev.ballast.core.engine.EngineRunner;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.LinkException;
import dev.ballast.core.engine.MigrationEngine;
import dev.ballast.core.engine.PageLink;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.Policies;
import dev.ballast.core.run.RunManifest;

/**
 * Re-runs the engine from a recorded event stream alone — no guest, no KVM. Every question the
 * engine asks (the clock, dirty-log syncs, guest requests, page contents, link failures) is
 * answered from the stream, in the order the original engine asked it, and every event the
 * engine publishes is checked against the recorded one. The first difference stops the replay
 * and is reported with its event number.
 *
 * <p>A stream may hold several migrations one after another (retries after a failure, the hops
 * of a chain): each gets a new engine, as it did when it was recorded.
 */
public final class Replay {
    private Replay() {}

    /** Where a replay and its recording first differ. */
    public record Divergence(long eventNumber, String expected, String actual) {
        @Override
        public String toString() {
            return "event " + eventNumber + ": expected " + expected + ", replay gave " + actual;
        }
    }

    /**
     * @param events     events checked (all of them when there is no divergence)
     * @param migrations engine runs replayed
     * @param divergence the first difference, or null
     * @param truncated  the stream ended in the middle of a migration (a journal cut short)
     */
    public record Result(long events, int migrations, Divergence divergence, boolean truncated) {
        public boolean ok() {
            return divergence == null;
        }
    }

    public static Result run(RunManifest manifest, EventStream stream) {
        Lookahead in = new Lookahead(stream);
        Session s = new Session(manifest, in);
        int migrations = 0;
        try {
            while (true) {
                in.skipInfo();
                if (in.peek(0) == null) break;
                migrations++;
                s.migrate();
            }
            return new Result(in.consumed(), migrations, null, false);
        } catch (Diverged d) {
            return new Result(in.consumed(), migrations, d.divergence, false);
        } catch (Truncated t) {
            return new Result(in.consumed(), migrations, null, true);
        }
    }

    private static final class Diverged extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient Divergence divergence;

        Diverged(Divergence d) {
            super(d.toString(), null, false, false);
            this.divergence = d;
        }
    }

    private static final class Truncated extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Truncated() {
            super("the recording ends here", null, false, false);
        }
    }

    /** One replay: the engine's guest, link, clock and sink, all reading the same recording. */
    private static final class Session implements SourceGuest, PageLink, Clock, EventSink {
        private final RunManifest manifest;
        private final Lookahead in;
        private final RamLayout layout;
        private final GuestFeatures features;
        private MigrationEngine engine;
        private boolean running;

        Session(RunManifest manifest, Lookahead in) {
            this.manifest = manifest;
            this.in = in;
            this.layout = manifest.layout();
            this.features = manifest.features();
        }

        void migrate() {
            running = true;
            engine = new MigrationEngine(
                    manifest.engine(), manifest.postcopy(), this, this, Policies.create(manifest.policy()), this, this);
            // No idling (the recorded clock jumps by itself) and no bound of its own: every step reads the
            // clock, which consumes a recorded event, so the recording bounds the replay (Truncated at its end).
            new EngineRunner(this, EngineRunner.IdleStrategy.NONE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE)
                    .run(EngineRunner.of(engine), EngineRunner.StepHooks.NONE, () -> {}, "");
        }

        /** The next recorded event, which must be of this type (an answer the engine is waiting for). */
        private Event expect(EventType type, String question) {
            in.skipInfo();
            Event e = in.peek(0);
            if (e == null) throw new Truncated();
            if (e.type != type) {
                throw new Diverged(new Divergence(e.number, e.toString(), "the engine asked for " + question));
            }
            return e;
        }

        private boolean next(EventType type) {
            in.skipInfo();
            Event e = in.peek(0);
            return e != null && e.type == type;
        }

        // ---------------------------------------------------------- EventSink: check every decision

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            in.skipInfo();
            Event e = in.peek(0);
            if (e == null) throw new Truncated();
            if (!e.sameAs(type, timeNs, a, b, c)) {
                throw new Diverged(new Divergence(e.number, e.toString(), Event.format(type, timeNs, a, b, c)));
            }
            in.consume();
        }

        // ---------------------------------------------------------- Clock

        @Override
        public long nanoTime() {
            Event step = expect(EventType.STEP, "the time");
            long t = step.timeNs;
            Event after = in.peek(1);
            if (after != null && after.type == EventType.CANCEL) engine.cancel();
            return t;
        }

        // ---------------------------------------------------------- SourceGuest

        @Override
        public RamLayout layout() {
            return layout;
        }

        @Override
        public GuestFeatures features() {
            return features;
        }

        @Override
        public void startDirtyLog() {}

        @Override
        public void clearDirty(int block, long offset, long count) {}

        @Override
        public void restoreDirty(int block, long offset, long count) {}

        @Override
        public void stopDirtyLog() {}

        @Override
        public void pause() {
            running = false;
        }

        @Override
        public void resume() {
            running = true;
        }

        @Override
        public boolean running() {
            return running;
        }

        @Override
        public void hintCommand(long commandId) {}

        @Override
        public long lastCommandId() {
            return expect(EventType.COMMAND_BASE, "the device's last command id").a;
        }

        @Override
        public void requestFreeBitmap(long commandId) {}

        @Override
        public void syncDirtyLog(PageRanges dirty) {
            while (next(EventType.DIRTY)) {
                Event e = in.peek(0);
                dirty.range((int) e.a, e.b, e.c); // the engine publishes it, which consumes it
            }
        }

        @Override
        public long classify(int block, long offset, long max) {
            return expect(EventType.CONTENT, "the content of block " + block + " offset " + offset).c;
        }

        @Override
        public void balloonState(GuestRequests ballooned) {
            while (next(EventType.BALLOON_INFLATE) && EventType.Balloon.atSetup(in.peek(0).a)) {
                Event e = in.peek(0);
                ballooned.request(e.type, e.a, e.b, e.c);
            }
        }

        @Override
        public int drainRequests(GuestRequests into, int max) {
            int n = 0;
            while (n < max) {
                in.skipInfo();
                Event e = in.peek(0);
                if (e == null || !e.type.drained()) break;
                into.request(e.type, e.a, e.b, e.c);
                n++;
            }
            return n;
        }

        // ---------------------------------------------------------- PageLink

        private void maybeFail() throws LinkException {
            if (next(EventType.LINK_FAILED)) {
                throw new LinkException(FailureCause.byCode(in.peek(0).a), "recorded link failure");
            }
        }

        @Override
        public void open(RamLayout l, int poisonByte, PageRanges missing) throws LinkException {
            maybeFail();
            while (next(EventType.DIRTY)) {
                Event e = in.peek(0);
                missing.range((int) e.a, e.b, e.c);
            }
        }

        @Override
        public void sendPages(int block, long offset, long count) throws LinkException {
            maybeFail();
        }

        @Override
        public void sendFill(int block, long offset, long count, int fillByte) throws LinkException {
            maybeFail();
        }

        @Override
        public void sendBalloon(int block, long offset, long count, boolean ballooned) throws LinkException {
            maybeFail();
        }

        @Override
        public void endIteration(int iteration) throws LinkException {
            maybeFail();
        }

        @Override
        public void complete() throws LinkException {
            maybeFail();
        }

        // postcopy: the destination's page requests and its missing pages after a recovery are inputs
        @Override
        public void discard(int block, long offset, long count) throws LinkException {
            maybeFail();
        }

        @Override
        public void switchOver() throws LinkException {
            maybeFail();
        }

        @Override
        public long sendBalloonBitmap(dev.ballast.core.mem.PageBitmap balloon) throws LinkException {
            maybeFail();
            Event e = expect(EventType.BALLOON_BITMAP, "the bytes of the balloon bitmap");
            return e.b; // the engine publishes it, which checks the rest
        }

        @Override
        public void pollRequests(PageRanges requests) throws LinkException {
            maybeFail();
            while (next(EventType.PAGE_REQUEST)) {
                Event e = in.peek(0);
                requests.range((int) e.a, e.b, e.c); // the engine publishes it (consumed), then serves it
            }
        }

        @Override
        public void recover(PageRanges missing) throws LinkException {
            maybeFail();
            while (next(EventType.DIRTY)) {
                Event e = in.peek(0);
                missing.range((int) e.a, e.b, e.c);
            }
        }
    }
}
