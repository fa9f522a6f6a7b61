package dev.ballast.report;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamBlock;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.replay.Event;
import dev.ballast.replay.EventStream;

/**
 * A made-up migration of any length over any layout, generated on the fly (nothing stored): every
 * pass walks all of memory in steps that send 32 pages with data, 32 as zero, clear 64 as free and
 * see a 64-page hint; every sync dirties all of memory again. For measuring, not for meaning.
 */
final class SyntheticRun implements EventStream {
    private static final int CYCLE = 7;
    private static final long PAGES_PER_CYCLE = 128;

    private final RamLayout layout;
    private final long target;
    private long number;
    private long timeNs;
    private int stage; // 0 setup, 1 walking, 2 between passes, 3 ending, 4 done
    private int sub;
    private int block;
    private long offset;
    private int pass = 1;

    SyntheticRun(RamLayout layout, long events) {
        this.layout = layout;
        this.target = events;
    }

    @Override
    public boolean next(Event e) {
        timeNs += 200;
        switch (stage) {
            case 0 -> setup(e);
            case 1 -> walk(e);
            case 2 -> betweenPasses(e);
            case 3 -> end(e);
            default -> {
                return false;
            }
        }
        number++;
        return true;
    }

    private void emit(Event e, EventType t, long a, long b, long c) {
        e.set(number, t, timeNs, a, b, c);
    }

    private void setup(Event e) {
        int n = layout.blockCount();
        if (sub == 0) emit(e, EventType.PHASE, Phase.SETUP.ordinal(), 0, 0);
        else if (sub == 1) emit(e, EventType.SYNC_BEGIN, 0, 0, 0);
        else if (sub < 2 + n)
            emit(e, EventType.DIRTY, sub - 2, 0, layout.block(sub - 2).pages());
        else if (sub == 2 + n) emit(e, EventType.SYNC_END, 0, layout.totalPages(), 0);
        else {
            emit(e, EventType.PHASE, Phase.BULK.ordinal(), 1, 0);
            stage = 1;
            sub = 0;
            return;
        }
        sub++;
    }

    private void walk(Event e) {
        RamBlock b = layout.block(block);
        switch (sub) {
            case 0 -> emit(e, EventType.STEP, number, 0, 0);
            case 1 -> emit(e, EventType.CONTENT, block, offset, EventType.Content.c(32, false));
            case 2 -> emit(e, EventType.SEND_NORMAL, block, offset, 32);
            case 3 -> emit(e, EventType.CONTENT, block, offset + 32, EventType.Content.c(32, true));
            case 4 -> emit(e, EventType.SEND_FILL, block, offset + 32, EventType.SendFill.c(32, 0));
            case 5 -> emit(e, EventType.HINT, 0x8000_0000L, b.firstPfn() + offset + 64, 64);
            default -> emit(e, EventType.SKIP_FREE, block, offset + 64, 64);
        }
        if (++sub < CYCLE) return;
        sub = 0;
        offset += PAGES_PER_CYCLE;
        if (offset + PAGES_PER_CYCLE > b.pages()) {
            offset = 0;
            if (++block == layout.blockCount()) {
                block = 0;
                stage = number + 16 >= target ? 3 : 2;
            }
        }
    }

    private void betweenPasses(Event e) {
        int n = layout.blockCount();
        if (sub == 0) emit(e, EventType.ITERATION_END, pass, 0, 0);
        else if (sub == 1) emit(e, EventType.SYNC_BEGIN, pass, 0, 0);
        else if (sub < 2 + n)
            emit(e, EventType.DIRTY, sub - 2, 0, layout.block(sub - 2).pages());
        else if (sub == 2 + n) emit(e, EventType.SYNC_END, pass, layout.totalPages(), 0);
        else if (sub == 3 + n) emit(e, EventType.CONVERGENCE, layout.totalBytes(), 1_250_000_000L, 0);
        else {
            pass++;
            emit(e, EventType.PHASE, Phase.ITERATE.ordinal(), pass, 0);
            stage = 1;
            sub = 0;
            return;
        }
        sub++;
    }

    private void end(Event e) {
        switch (sub++) {
            case 0 -> emit(e, EventType.ITERATION_END, pass, 0, 0);
            case 1 -> emit(e, EventType.GUEST_RUN_STATE, 1, 0, 0);
            case 2 -> emit(e, EventType.PHASE, Phase.STOP_AND_COPY.ordinal(), pass + 1, 0);
            case 3 -> emit(e, EventType.ITERATION_END, pass + 1, 0, 0);
            case 4 -> emit(e, EventType.PHASE, Phase.COMPLETED.ordinal(), pass + 1, 0);
            case 5 -> emit(e, EventType.END, Phase.COMPLETED.ordinal(), 0, 600);
            default -> {
                emit(e, EventType.VERIFY, layout.totalPages(), 0, -1);
                stage = 4;
            }
        }
    }
}
