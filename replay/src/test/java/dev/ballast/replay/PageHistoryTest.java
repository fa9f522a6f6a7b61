package dev.ballast.replay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.policy.HintPolicy;
import dev.ballast.core.policy.PolicyContext;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.sim.SimGuest;
import dev.ballast.sim.SimRun;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class PageHistoryTest {
    private static final long M = 1L << 20;

    @Test
    void shouldTellAPagesStoryFromSetupToTheEnd() {
        Scenario s = Scenario.sim(256 * M, "idle", "hint", 5);
        ReplayTest.Recording rec = ReplayTest.record(s);
        List<String> story = PageHistory.of(RunManifest.of(s), rec.stream(), 0); // a device ring page: written and sent
        assertThat(story.getFirst()).isEqualTo("PFN 0x0 is ram-low+0x0 (PFN 0x0)");
        assertThat(story).anyMatch(l -> l.contains("the destination does not have it"));
        assertThat(story).anyMatch(l -> l.contains("sent with its data in pass 1"));
        assertThat(story.getLast()).contains("completed");
    }

    @Test
    void shouldTellWhyAFreePageWasNotSent() {
        Scenario s = Scenario.sim(256 * M, "idle", "hint", 5);
        List<String> story = PageHistory.of(RunManifest.of(s), ReplayTest.record(s).stream(), 60_000);
        assertThat(story).anyMatch(l -> l.contains("the guest hinted it free, answering command 0x80000000"));
        assertThat(story).anyMatch(l -> l.contains("cleared from the bitmap"));
        assertThat(story.getLast()).contains("completed without sending it (free, as the guest said)");
    }

    @Test
    void shouldTellAPagesReportsAndDiscards() {
        // a legacy migration on a slow link after a memory hog: the guest reports the hog's memory while it runs
        Scenario s =
                Scenario.sim(256 * M, "memhog,reporting=1", "legacy", 5).withLimits(200_000_000L, 50_000_000L, 30, 0);
        ReplayTest.Recording rec = ReplayTest.record(s);
        long[] discarded = null;
        for (long[] e : rec.events) {
            if (e[0] == dev.ballast.core.event.EventType.HOST_DISCARD.id()) {
                discarded = e;
                break;
            }
        }
        assertThat(discarded).isNotNull();
        RamLayout layout = s.layout();
        long pfn = layout.block((int) discarded[2]).firstPfn() + discarded[3];
        List<String> story = PageHistory.of(RunManifest.of(s), rec.stream(), pfn);
        int reported = indexOf(story, "the guest reported it free");
        int dropped = indexOf(story, "the host discarded it (madvise DONTNEED, it reads zero now): a free page report");
        int back = indexOf(story, "the host answered; the page is free again");
        assertThat(reported).as(String.join("\n", story)).isNotNegative();
        assertThat(dropped).isGreaterThan(reported);
        assertThat(back).isGreaterThan(dropped);
    }

    private static int indexOf(List<String> lines, String part) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).contains(part)) return i;
        return -1;
    }

    @Test
    void shouldPointAtTheLostPageOfABrokenPolicy() {
        // a hint policy that never stops hinting: the checker names a page; its story shows a stale hint clearing it
        Scenario s = Scenario.sim(1L << 30, "random-write,rate=300MiB/s,used=30%", "hint", 13);
        ReplayTest.Recording rec = new ReplayTest.Recording();
        RunReport r = new SimRun(
                        s,
                        s.layout(),
                        SimRun.Hooks.NONE
                                .withGuest(g -> new SimGuest(g.withHintDriver(6, 2_000)))
                                .withPolicy(() -> new HintPolicy() {
                                    @Override
                                    public void beforeSync(PolicyContext ctx) {}

                                    @Override
                                    public void afterSync(PolicyContext ctx) {}
                                }),
                        rec,
                        Backend.Progress.NONE)
                .run();
        assertThat(r.verify().ok()).isFalse();
        Matcher m = Pattern.compile("PFN 0x([0-9a-f]+)").matcher(r.verify().violation());
        assertThat(m.find()).as(r.verify().violation()).isTrue();
        List<String> story = PageHistory.of(RunManifest.of(s), rec.stream(), Long.parseLong(m.group(1), 16));
        assertThat(story).anyMatch(l -> l.contains("cleared from the bitmap"));
    }

    @Test
    void shouldTellAFaultedPagesHistoryInPostcopy() {
        Scenario s = Scenario.sim(256 * M, "random-write,rate=4GiB/s", "legacy", 3)
                .withLimits(10_000_000_000L, 5_000_000L, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse("2"));
        ReplayTest.Recording rec = new ReplayTest.Recording();
        long[] faulted = {-1};
        RamLayout layout = s.layout();
        new SimRun(
                        s,
                        layout,
                        SimRun.Hooks.NONE,
                        (type, t, a, b, c) -> {
                            rec.publish(type, t, a, b, c);
                            if (type == dev.ballast.core.event.EventType.FAULT && faulted[0] < 0)
                                faulted[0] = layout.block((int) a).firstPfn() + b;
                        },
                        Backend.Progress.NONE)
                .run();
        assertThat(faulted[0]).as("a page faulted on").isNotNegative();
        List<String> story = PageHistory.of(RunManifest.of(s), rec.stream(), faulted[0]);
        assertThat(String.join("\n", story))
                .containsSubsequence(
                        "switch-over: the guest resumes on the destination",
                        "the guest faulted on it on the destination",
                        "the destination asked for it",
                        "placed on the destination; the fault waited");
    }

    @Test
    void shouldRefuseAPfnThatIsNotRam() {
        Scenario s = Scenario.sim(4L << 30, "idle", "legacy", 5);
        long inTheHole = (3L << 30) / RamLayout.PAGE_SIZE;
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> PageHistory.of(RunManifest.of(s), e -> false, inTheHole))
                .hasMessageContaining("is not RAM");
    }
}
