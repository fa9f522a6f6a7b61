package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.run.WorkloadSpec;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(64L << 20); // 16384 pages
    private final SimGuest guest = SimRuns.guest(LAYOUT, new GuestFeatures(true, true, true, 0));

    private Workload boot(String spec) {
        Workload w = Workload.create(WorkloadSpec.parse(spec), guest, new SplittableRandom(1));
        w.boot();
        return w;
    }

    @Test
    void shouldLeaveAMemoryHogsPagesWrittenAndFree() {
        boot("memhog,used=4%,hog=50%");
        long free = guest.freePageCount();
        assertThat(free).isBetween(16384L * 94 / 100, 16384L * 96 / 100);
        long written = 0;
        for (long i = 0; i < LAYOUT.totalPages(); i++) if (!guest.inUse(i) && guest.read(i) > 0) written++;
        assertThat(written).isGreaterThanOrEqualTo(16384L * 49 / 100);
    }

    @Test
    void shouldBalloonAllButTheGivenShare() {
        boot("balloon:25");
        assertThat(guest.balloonPageCount()).isEqualTo(16384L * 3 / 4);
    }

    @Test
    void shouldWriteAtTheGivenRate() {
        long[] writes = {0};
        SimGuest counting =
                new SimGuest(new SimGuest.Setup(
                        LAYOUT, guest.features, false, guest.costs, guest.checkers, SimOptions.DEFAULTS)) {
                    @Override
                    public void write(long index) {
                        writes[0]++;
                        super.write(index);
                    }
                };
        Workload w = Workload.create(
                WorkloadSpec.parse("random-write,used=50%,rate=40MiB/s"), counting, new SplittableRandom(1));
        w.boot();
        writes[0] = 0; // the device rings' first entries, and the boot's own writes
        w.tick(100_000_000L); // 100 ms at 40 MiB/s: 1024 pages
        assertThat(writes[0]).isBetween(1023L, 1024L);
        w.tick(50_000_000L);
        assertThat(writes[0]).isBetween(1535L, 1536L);
    }

    @Test
    void shouldNameTheParameterThatIsWrong() {
        assertThatThrownBy(() -> boot("random-write,used=150%"))
                .hasMessage("workload random-write: used=150%: expected a percentage (25%) or a size (512M)");
        assertThatThrownBy(() -> boot("idle,rate=fast"))
                .hasMessage("workload idle: rate=fast: expected a rate such as 100MiB/s");
        assertThatThrownBy(() -> boot("balloon:0")).hasMessageContaining("must be a percentage in (0, 100]");
        assertThatThrownBy(() -> boot("deflate-race,from=later"))
                .hasMessage("workload deflate-race: from=later: expected start or switch-over");
    }
}
