package dev.ballast.core.policy;

/** QEMU's pre-copy as it was before these optimizations: every page of the bulk stage is scanned and sent. */
public class LegacyPolicy implements MigrationPolicy {
    @Override
    public String name() {
        return "legacy";
    }
}
