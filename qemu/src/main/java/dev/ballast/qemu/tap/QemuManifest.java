package dev.ballast.qemu.tap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.ballast.core.engine.EngineConfig;
import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.RunManifest;
import dev.ballast.qemu.stream.RamBlock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a journal of a real QEMU's migration says about it: QEMU's version, the machine type, the RAM blocks in the
 * stream's order, the migration capabilities, where the stream came from, and QEMU's limits when QMP told them.
 * Known once the stream's RAM setup has been read.
 *
 * <p>A journal names pages by (block index, offset) and its layout gives each block a range of "PFNs": for a QEMU
 * stream, which carries no guest-physical addresses, the blocks are laid end to end in the stream's order from 0,
 * so {@code pc.ram} (QEMU lists it first) has PFN = its page offset, the guest-physical frame for memory below the
 * PCI hole, and the ROM blocks follow it.
 */
public record QemuManifest(
        String qemuVersion,
        String machineType,
        long ramTotalBytes,
        List<RamBlock> blocks,
        String capabilities,
        String source,
        long downtimeLimitNs,
        long bandwidthBytesPerSec) {
    /** The backend name a QEMU journal's header carries: its decisions were QEMU's. */
    public static final String BACKEND = "qemu";
    /** The largest guest journaled: 1 TiB (a journal's fold keeps three bitmaps of the guest's pages). */
    public static final long MAX_JOURNAL_BYTES = 1L << 40;
    /** QEMU's default downtime limit (300 ms), for a manifest without QMP. */
    public static final long QEMU_DEFAULT_DOWNTIME_NS = 300_000_000L;

    public QemuManifest {
        blocks = List.copyOf(blocks);
    }

    /** The blocks end to end from PFN 0 in the stream's order, each named as QEMU does when the name fits a journal. */
    public RamLayout layout() {
        List<RamLayout.Spec> specs = new ArrayList<>();
        Set<String> used = new HashSet<>();
        long pfn = 0;
        for (RamBlock b : blocks) {
            String name = journalName(b.name());
            if (!used.add(name)) {
                name = journalName(name.substring(0, Math.min(name.length(), 56)) + "#" + b.index());
                used.add(name);
            }
            specs.add(new RamLayout.Spec(name, pfn, b.pages()));
            pfn += b.pages();
        }
        return RamLayout.of(specs);
    }

    /** A block name as a journal's layout can hold it: printable, no comma, at most 64 characters. */
    static String journalName(String qemuName) {
        StringBuilder s = new StringBuilder(Math.min(qemuName.length(), 64));
        for (int i = 0; i < qemuName.length() && s.length() < 64; i++) {
            char c = qemuName.charAt(i);
            s.append(c > 0x20 && c < 0x7f && c != ',' ? c : '_');
        }
        return s.toString();
    }

    /** The run's manifest: backend {@value #BACKEND}, policy {@code qemu}; replay re-makes none of its decisions. */
    public RunManifest runManifest() {
        return runManifest("qemu-guest", "qemu", 0);
    }

    /**
     * The manifest of a run Ballast started ({@code --backend qemu}): its workload, policy ({@code legacy} or
     * {@code hint}: QEMU's free-page-hint off or on) and seed; backend {@value #BACKEND}, so replay still re-makes
     * none of its decisions.
     */
    public RunManifest runManifest(String workload, String policy, long seed) {
        EngineConfig e = EngineConfig.defaults()
                .withLimits(
                        bandwidthBytesPerSec,
                        downtimeLimitNs,
                        EngineConfig.defaults().maxIterations(),
                        0)
                .withPageHeaderBytes(8);
        return new RunManifest(
                BACKEND,
                workload,
                policy,
                seed,
                layout(),
                e,
                new GuestFeatures(false, false, false, 0),
                CostProfile.defaults());
    }

    /** The header entries beyond the run manifest's: {@code qemu.*}. */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("qemu.version", qemuVersion);
        m.put("qemu.machine", machineType == null ? "(none: the stream has no configuration section)" : machineType);
        m.put("qemu.streamFormat", "3");
        m.put("qemu.ramBytes", Long.toString(ramTotalBytes));
        ArrayNode list = new ObjectMapper().createArrayNode();
        RamLayout layout = layout();
        for (RamBlock b : blocks) {
            list.addObject()
                    .put("name", b.name())
                    .put("bytes", b.usedLength())
                    .put("journalName", layout.block(b.index()).name())
                    .put("firstPfn", layout.block(b.index()).firstPfn());
        }
        m.put("qemu.blocks", list.toString());
        m.put("qemu.capabilities", capabilities);
        m.put("qemu.source", source);
        return m;
    }

    /** Whether a journal header is a QEMU run's. */
    public static boolean isQemu(Map<String, String> header) {
        return BACKEND.equals(header.get(RunManifest.KEY_BACKEND));
    }
}
