package dev.ballast.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.CostProfile;
import org.junit.jupiter.api.Test;

class SimCostsTest {
    @Test
    void shouldLastAsLongAsTheLargerOfCpuAndLinkWithinAStep() {
        SimCosts c = new SimCosts(CostProfile.defaults(), 0); // 10 Gbit/s: 0.8 ns a byte
        c.advanceTo(1_000_000);
        c.cpu(500);
        c.bytes(1_250); // 1000 ns on the link
        assertThat(c.nanoTime()).isEqualTo(1_001_000);
        assertThat(c.endStep(10)).isEqualTo(1_000);
        assertThat(c.worldNs()).isEqualTo(1_001_000);
        assertThat(c.nanoTime()).isEqualTo(1_001_000);
    }

    @Test
    void shouldChargeAtLeastTheStepsMinimum() {
        SimCosts c = new SimCosts(CostProfile.defaults(), 0);
        c.cpu(3);
        assertThat(c.endStep(1_000)).isEqualTo(1_000);
        assertThat(c.worldNs()).isEqualTo(1_000);
    }

    @Test
    void shouldWaitOnTheLinkAfterWhatTheStepAlreadyCost() {
        SimCosts c = new SimCosts(CostProfile.defaults(), 0);
        c.cpu(400);
        c.wait(100.0);
        c.bytes(125); // 100 ns more on the link, after the wait
        assertThat(c.nanoTime()).isEqualTo(600);
    }

    @Test
    void shouldUseTheLowerOfTheScenariosBandwidthAndTheProfilesLink() {
        SimCosts slow = new SimCosts(CostProfile.defaults(), 1_000_000_000L); // 1 Gbit/s: 8 ns a byte
        slow.bytes(1_000);
        assertThat(slow.nanoTime()).isEqualTo(8_000);
        SimCosts capped = new SimCosts(CostProfile.defaults(), 100_000_000_000L); // more than the profile's 10 Gbit/s
        capped.bytes(1_000);
        assertThat(capped.nanoTime()).isEqualTo(800);
    }

    @Test
    void shouldNeverMoveTheWorldBack() {
        SimCosts c = new SimCosts(CostProfile.defaults(), 0);
        c.advanceTo(5_000);
        c.advanceTo(4_000);
        assertThat(c.worldNs()).isEqualTo(5_000);
    }
}
