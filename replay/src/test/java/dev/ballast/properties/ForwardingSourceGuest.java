package dev.ballast.properties;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.engine.GuestRequests;
import dev.ballast.core.engine.PageRanges;
import dev.ballast.core.engine.SourceGuest;
import dev.ballast.core.mem.RamLayout;

/** Passes everything to another {@link SourceGuest}; a wrapper overrides what it changes. */
class ForwardingSourceGuest implements SourceGuest {
    final SourceGuest g;

    ForwardingSourceGuest(SourceGuest g) { this.g = g; }

    @Override public RamLayout layout() { return g.layout(); }
    @Override public GuestFeatures features() { return g.features(); }
    @Override public void startDirtyLog() { g.startDirtyLog(); }
    @Override public void syncDirtyLog(PageRanges dirty) { g.syncDirtyLog(dirty); }
    @Override public void clearDirty(int block, long offset, long count) { g.clearDirty(block, offset, count); }
    @Override public void restoreDirty(int block, long offset, long count) { g.restoreDirty(block, offset, count); }
    @Override public void stopDirtyLog() { g.stopDirtyLog(); }
    @Override public long classify(int block, long offset, long max) { return g.classify(block, offset, max); }
    @Override public void pause() { g.pause(); }
    @Override public void resume() { g.resume(); }
    @Override public boolean running() { return g.running(); }
    @Override public void hintCommand(long commandId) { g.hintCommand(commandId); }
    @Override public long lastCommandId() { return g.lastCommandId(); }
    @Override public void requestFreeBitmap(long commandId) { g.requestFreeBitmap(commandId); }
    @Override public void balloonState(GuestRequests ballooned) { g.balloonState(ballooned); }
    @Override public int drainRequests(GuestRequests into, int max) { return g.drainRequests(into, max); }
}
