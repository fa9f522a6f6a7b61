package dev.ballast.qemu.backend;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.BalloonMessages;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Real QEMU and a real Linux guest as a {@link Backend}, named {@code qemu}: Ballast starts the source and the
 * destination QEMU ({@code qemu-system-x86_64} from PATH, or {@code --qemu PATH}), with {@code -accel kvm} where a
 * stock kernel boots under it and TCG otherwise, Debian's stock kernel and Ballast's initramfs (or {@code --kernel}
 * and {@code --initrd}), and migrates through Ballast's validating relay ({@link QemuRun}). Only what stock QEMU has
 * runs: {@code legacy} ({@code free-page-hint=off}) and {@code hint} ({@code free-page-hint=on}, negotiated by the
 * real driver and checked on the device); the proposals stock QEMU does not implement are refused by name. Where QEMU
 * or the guest's kernel is missing, {@link #run} throws one {@link IllegalStateException} that says why.
 */
public final class QemuBackend implements Backend {
    /** The policies stock QEMU does not have, and the proposal (docs/seeds.md) each comes from. */
    static final Map<String, String> NOT_IN_QEMU = Map.of(
            "balloon", "balloon skip, the proposal of seed 003",
            "bitmap", "the free page bitmap, the proposal of seeds 001, 002 and 004 (2016, not merged)",
            "hint+balloon", "balloon skip (seed 003) with free page hints",
            "report", "a migration that uses the host's discards of free page reports (Ballast's own)",
            "hint+report", "a migration that uses the host's discards of free page reports (Ballast's own)");

    static final long MIN_MEM = 128L << 20;

    @Override
    public String name() {
        return "qemu";
    }

    @Override
    public boolean measuresWallTime() {
        return true;
    }

    /** The journal's layout is QEMU's RAM blocks, read from its stream: {@link QemuRun} opens the journal then. */
    @Override
    public boolean namesItsJournal() {
        return true;
    }

    @Override
    public List<String> comparedPolicies() {
        return List.of("legacy", "hint");
    }

    @Override
    public void check(Scenario s, BackendOptions options) {
        String notHere = NOT_IN_QEMU.get(s.policy());
        if (notHere != null) {
            throw new SettingException(
                    "policy",
                    s.policy(),
                    "stock QEMU does not implement " + notHere + "; the qemu backend runs legacy and hint");
        }
        if (!s.policy().equals("legacy") && !s.policy().equals("hint")) {
            throw new SettingException(
                    "policy",
                    s.policy(),
                    "the qemu backend runs only what stock QEMU has: legacy "
                            + "(free-page-hint=off) and hint (free-page-hint=on)");
        }
        if (options.preallocate()) {
            throw new SettingException(
                    "prealloc", null, "needs --backend kvm (QEMU's own -mem-prealloc is not wired up)");
        }
        if (options.destination() != null) {
            throw new SettingException(
                    "dest", null, "needs --backend kvm (the qemu backend starts its own destination QEMU)");
        }
        if (s.guestMemBytes() < MIN_MEM || s.guestMemBytes() % 4096 != 0) {
            throw new SettingException(
                    "mem",
                    Units.formatBytes(s.guestMemBytes()),
                    "the qemu backend needs at least 128M (a Linux guest) and a multiple of 4K");
        }
        if (s.chain() != 1) {
            throw new SettingException("chain", Integer.toString(s.chain()), "the qemu backend runs one migration");
        }
        if (s.failAt() != null) {
            throw new SettingException("fail-at", s.failAt().toString(), "the qemu backend injects no link failure");
        }
        if (s.timeCapNs() != 0) {
            throw new SettingException("time-cap", Units.formatDuration(s.timeCapNs()), "QEMU has no time cap");
        }
        if (s.poisonByte() != 0) {
            throw new SettingException(
                    "poison", Integer.toString(s.poisonByte()), "the qemu backend's guest does not poison free pages");
        }
        if (s.balloonMessages() != BalloonMessages.PFN) {
            throw new SettingException("balloon-messages", "bitmap", "the real Linux driver sends PFN arrays");
        }
        if (s.hintStartCommandId() != Scenario.MIN_COMMAND_ID) {
            throw new SettingException(
                    "hint-start-id",
                    "0x" + Long.toHexString(s.hintStartCommandId()),
                    "QEMU chooses its own command ids");
        }
        BackendOptions.UserBuild b = options.userBuild();
        if (b.kernel() != null && b.initrd() == null) {
            throw new SettingException(
                    "kernel",
                    b.kernel(),
                    "needs --initrd too (Ballast's initramfs carries the " + "modules of its own kernel)");
        }
        for (String[] f : new String[][] {{"qemu", b.vmm()}, {"kernel", b.kernel()}, {"initrd", b.initrd()}}) {
            if (f[1] != null && !Files.isRegularFile(Path.of(f[1]))) {
                throw new SettingException(f[0], f[1], "no such file");
            }
        }
        GuestWorkload.of(s.workload(), s.guestMemBytes(), s.seed());
    }

    @Override
    public RunReport run(Scenario scenario, BackendOptions options, EventSink events, Progress progress) {
        check(scenario, options);
        return new QemuRun(scenario, options.userBuild(), events, progress).run();
    }
}
