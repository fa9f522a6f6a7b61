package dev.ballast.sim;

import static dev.ballast.sim.SimRuns.M;
import static dev.ballast.sim.SimRuns.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.WorkloadSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The operating system's memory as a real guest has it (`scripts/os-footprint.py` measures each part): data at the
 * top of RAM ({@code os-top}), data the boot left free ({@code os-freed}), zero memory that is not free
 * ({@code os-reserved}). A 256 MiB guest has 65,536 pages; {@code os=16M} is 4,096 pages with data, idle's stamps
 * ({@code used} 4%) 2,621.
 */
class OsMemoryTest {
    private static final String OS = "os=16M,os-top=4M,os-freed=4M,os-reserved=8M";

    @Test
    void shouldOverwriteWhatTheBootLeftFreeBeforeTakingZeroPages() {
        // the stamps' allocations start at the bottom, where the boot left 1,024 pages with data free: those they
        // take were data pages already, so fewer zero pages turn to data than without os-freed (at most 1,024 fewer)
        RunReport freed = run(Scenario.sim(256 * M, "idle," + OS, "legacy", 1));
        assertThat(freed.verify().ok()).as(freed.verify().violation()).isTrue();
        RunReport none = run(Scenario.sim(256 * M, "idle,os=16M,os-top=4M,os-reserved=8M", "legacy", 1));
        assertThat(freed.pages().zero() - none.pages().zero()).isBetween(1L, 1024L);
    }

    @Test
    void shouldSizeTheHogOnWhatTheKernelCountsFree() {
        // free when the hog starts: 65,536 less the OS's 4,096, 2,048 reserved and 2,621 stamps = 56,771; the hog
        // leaves 32 MiB (8,192) and a sixteenth (3,548): 45,031 pages, all zero before (without os-reserved: 46,951)
        RunReport idle = run(Scenario.sim(256 * M, "idle,os=16M,os-reserved=8M", "legacy", 1));
        RunReport hog = run(Scenario.sim(256 * M, "memhog,os=16M,os-reserved=8M", "legacy", 1));
        assertThat(hog.verify().ok()).as(hog.verify().violation()).isTrue();
        assertThat(hog.pages().normal() - idle.pages().normal()).isBetween(45_031L - 64, 45_031L + 64);
        assertThat(idle.pages().zero() - hog.pages().zero()).isBetween(45_031L - 64, 45_031L + 64);
    }

    @Test
    void shouldKeepTheTopOfRamsDataAtTheTop() {
        // os-top=4M: the last 1,024 pages of RAM have data, so the bulk pass sends them as data; without it they
        // are zero (the OS and the stamps are at the bottom)
        assertThat(dataPagesSentInTheLast(1024, "idle,os=16M,os-top=4M")).isEqualTo(1024);
        assertThat(dataPagesSentInTheLast(1024, "idle,os=16M")).isZero();
    }

    /** Pages of the last {@code pages} of the 256 MiB guest's one block that the first pass sends with data. */
    private static long dataPagesSentInTheLast(long pages, String workload) {
        Scenario s = Scenario.sim(256 * M, workload, "legacy", 1);
        long from = 65_536 - pages;
        long[] data = new long[1];
        boolean[] bulk = {true};
        dev.ballast.core.event.EventSink sink = (type, t, a, b, c) -> {
            if (type == EventType.ITERATION_END) bulk[0] = false;
            if (bulk[0] && type == EventType.SEND_NORMAL && b + c > from) data[0] += b + c - Math.max(b, from);
        };
        new SimRun(s, s.layout(), SimRun.Hooks.NONE, sink, dev.ballast.core.run.Backend.Progress.NONE).run();
        return data[0];
    }

    @Test
    void shouldPlaceTheTopAcrossRamBlocksAndPoisonWhatTheBootFreedUnderPoisoning() {
        // the property suite's shrunk cases: a 16 MiB guest in two blocks, the last (in index order) 64 pages long,
        // so os-top=1M (256 pages) spans both (once an ArrayIndexOutOfBoundsException); and a poisoning guest, whose
        // freed leftovers must read the poison like any free page (invariant 2; once they kept their data)
        RamLayout layout =
                RamLayout.of(List.of(new RamLayout.Spec("ram-high", 0x40, 4056), new RamLayout.Spec("ram-low", 0, 64)));
        for (int poison : new int[] {0, 0x5a}) {
            Scenario s = Scenario.sim(
                            layout.totalPages() * 4096,
                            "idle,used=1%,rate=0MiB/s,os=4M,os-top=1M,os-freed=1M,os-reserved=2M,min-free=2M",
                            "legacy",
                            1)
                    .withGuest(poison, true, "pfn", 0x8000_0000L);
            RunReport r = new SimRun(s, layout, SimRun.Hooks.NONE, EventSink.NONE, Backend.Progress.NONE).run();
            assertThat(r.outcome()).isEqualTo("completed");
            assertThat(r.verify().ok())
                    .as("poison 0x%x: %s", poison, r.verify().violation())
                    .isTrue();
        }
    }

    @Test
    void shouldRefuseOsPartsLargerThanTheOs() {
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,os=16M,os-top=32M"))
                .isInstanceOf(SettingException.class)
                .hasMessageContaining("os-top=32M: expected a size up to os (16.0 MiB)");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,os=16M,os-top=12M,os-freed=8M"))
                .hasMessageContaining("os-freed=8M: expected a size up to os less os-top (4.0 MiB)");
        assertThatThrownBy(() -> WorkloadSpec.parse("idle,os-reserved=lots"))
                .hasMessageContaining("os-reserved=lots: expected a size (84M)");
    }
}
