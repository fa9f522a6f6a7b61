package dev.ballast.properties;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.wire.WireException;
import java.util.Arrays;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * The wire formats (invariant 7 of docs/invariants.md and the (block, offset) rule): a page stream and the
 * balloon bitmap (as ranges) reach a destination that lists its blocks in another order exactly
 * as the source sent them; hostile input is rejected with a typed error ({@link WireException})
 * and writes nothing out of bounds — nothing at all of the rejected record.
 */
@AddLifecycleHook(DebuggableFailures.class)
@AddLifecycleHook(Tally.PerClass.class)
class WireProperties {
    @Provide
    Arbitrary<WireCase> streams() {
        return WireGenerators.cases();
    }

    @Provide
    Arbitrary<WireCase> balloonStreams() {
        return WireGenerators.balloonCases();
    }

    @Provide
    Arbitrary<WireGenerators.Attack> attacks() {
        return WireGenerators.attacks();
    }

    /** What the source sent is what the destination holds, by block name, whatever order each host lists its blocks in. */
    @Property(tries = Budget.WIRE, shrinking = ShrinkingMode.BOUNDED)
    void aPageStreamRoundTrips(@ForAll("streams") WireCase c) {
        checkRoundTrip(c);
    }

    /** The balloon bitmap, as ranges of (block, offset), lands on the same pages at a destination that orders its blocks differently. */
    @Property(tries = Budget.WIRE / 2, shrinking = ShrinkingMode.BOUNDED)
    void theBalloonBitmapRoundTripsAcrossBlockOrders(@ForAll("balloonStreams") WireCase c) {
        checkRoundTrip(c);
    }

    private static void checkRoundTrip(WireCase c) {
        WireRunner.RoundTrip rt = WireRunner.roundTrip(c, Mutants.active());
        Tally.wireStream();
        assertThat(rt.rejection()).as("the destination's rejection").isNull();
        assertThat(rt.sourceError()).as("the source's error").isNull();
        assertThat(rt.sink().outOfBounds).as("writes out of bounds").isEmpty();
        assertThat(rt.verdict().ok()).isTrue();
        WireRunner.Expected e = WireRunner.expected(c);
        for (var s : c.blocks()) {
            assertThat(rt.sink().pages.get(s.name()))
                    .as("pages of block %s", s.name())
                    .containsExactly(e.pages().get(s.name()));
            assertThat(rt.sink().balloonOf(s.name()))
                    .as("balloon bits of block %s", s.name())
                    .containsExactly(e.balloon().get(s.name()));
        }
        assertThat(rt.sink().iterations).isEqualTo(e.iterations());
    }

    /**
     * A hostile stream (the wire tests' random mutations, or a named attack on a balloon bitmap) is
     * either accepted as valid or rejected with a {@link WireException} naming where: never another
     * exception, never a write outside a block, and nothing of the rejected record applied (the
     * destination's calls equal those of the stream cut just before it).
     */
    @Property(tries = Budget.WIRE, shrinking = ShrinkingMode.BOUNDED)
    void hostileStreamsAreRejectedAndWriteNothing(
            @ForAll("streams") WireCase c, @ForAll("attacks") WireGenerators.Attack a) {
        byte[] valid = WireRunner.roundTrip(c, Mutant.NONE).stream();
        byte[] hostile = Attacks.apply(valid, c.source(), c.destination(), a);
        WireRunner.Decoded d = WireRunner.decode(hostile, c.destination(), Mutants.active());
        Tally.wireStream();
        assertThat(d.sink().outOfBounds).as("writes out of bounds").isEmpty();
        if (Arrays.equals(valid, hostile)) {
            assertThat(d.accepted()).as("the unchanged stream").isTrue();
            return;
        }
        if (d.accepted()) return; // a mutation that left the stream valid
        WireException e = d.rejection();
        assertThat(e.reason()).isNotNull();
        assertThat(e.streamOffset()).as("where: %s", e.getMessage()).isBetween(0L, (long) hostile.length);
        WireRunner.Decoded prefix =
                WireRunner.decode(Arrays.copyOf(hostile, (int) e.streamOffset()), c.destination(), Mutants.active());
        assertThat(prefix.sink().outOfBounds).isEmpty();
        assertThat(d.sink().log)
                .as("calls applied before the rejection (%s)", e.getMessage())
                .isEqualTo(prefix.sink().log);
    }
}
