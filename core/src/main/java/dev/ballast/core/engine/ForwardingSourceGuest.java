package dev.ballast.core.engine;

import dev.ballast.core.mem.RamLayout;

/**
 * A {@link SourceGuest} that passes every call to another one: wrap a guest and override what you
 * change (to count, delay or drop its answers, or to plant a bug in a test).
 */
public class ForwardingSourceGuest implements SourceGuest {
    protected final SourceGuest delegate;

    public ForwardingSourceGuest(SourceGuest delegate) {
        this.delegate = delegate;
    }

    @Override
    public RamLayout layout() {
        return delegate.layout();
    }

    @Override
    public GuestFeatures features() {
        return delegate.features();
    }

    @Override
    public void startDirtyLog() {
        delegate.startDirtyLog();
    }

    @Override
    public void syncDirtyLog(PageRanges dirty) {
        delegate.syncDirtyLog(dirty);
    }

    @Override
    public void clearDirty(int block, long offset, long count) {
        delegate.clearDirty(block, offset, count);
    }

    @Override
    public void restoreDirty(int block, long offset, long count) {
        delegate.restoreDirty(block, offset, count);
    }

    @Override
    public void stopDirtyLog() {
        delegate.stopDirtyLog();
    }

    @Override
    public long classify(int block, long offset, long max) {
        return delegate.classify(block, offset, max);
    }

    @Override
    public void pause() {
        delegate.pause();
    }

    @Override
    public void resume() {
        delegate.resume();
    }

    @Override
    public boolean running() {
        return delegate.running();
    }

    @Override
    public long lastCommandId() {
        return delegate.lastCommandId();
    }

    @Override
    public void hintCommand(long commandId) {
        delegate.hintCommand(commandId);
    }

    @Override
    public void requestFreeBitmap(long commandId) {
        delegate.requestFreeBitmap(commandId);
    }

    @Override
    public void balloonState(GuestRequests ballooned) {
        delegate.balloonState(ballooned);
    }

    @Override
    public int drainRequests(GuestRequests into, int max) {
        return delegate.drainRequests(into, max);
    }
}
