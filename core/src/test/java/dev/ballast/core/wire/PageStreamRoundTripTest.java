package dev.ballast.core.wire;

import static dev.ballast.core.wire.WireTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.engine.LinkException;
import dev.ballast.core.event.FailureCause;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.WireTestSupport.Loopback;
import dev.ballast.core.wire.WireTestSupport.MemorySink;
import dev.ballast.core.wire.WireTestSupport.PatternSource;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** A writer and a reader together: every record type, layouts in two orders, refusals, resumes. */
class PageStreamRoundTripTest {

    private static final RamLayout PC = layout("ram-low", 0, 48, "ram-high", 0x100000, 40);
    private static final RamLayout PC_REVERSED = layout("ram-high", 0x100000, 40, "ram-low", 0, 48);

    /** Pages, fills, balloon ranges, iterations and the verdict all arrive, over a live pipe pair. */
    @Test
    void shouldCarryEveryRecordTypeOverAPipe() throws Exception {
        PatternSource src = new PatternSource(PC);
        MemorySink sink = new MemorySink(PC);
        sink.answer = Verdict.of(88, 0, true, "self-check passed");
        List<long[]> missing = new ArrayList<>();
        try (Loopback link = new Loopback(src, new PageStreamWriter.Options(42, 4, 2, 0), sink)) {
            PageStreamWriter w = link.writer;
            w.open(PC, 0xAA, (b, o, n) -> missing.add(new long[] {b, o, n}));
            w.sendPages(0, 0, 10); // three records of at most 4 pages
            w.sendFill(0, 10, 5, 0);
            w.sendFill(0, 15, 3, 0); // merges with the fill before
            w.sendFill(1, 0, 40, 0xAA); // poison
            w.sendPages(1, 39, 1);
            w.sendBalloon(0, 20, 4, true);
            w.sendBalloon(0, 24, 2, true); // grows the range before
            w.sendBalloon(0, 30, 1, true);
            w.sendBalloon(0, 40, 1, true); // third range: a new record (2 ranges a record)
            w.sendBalloon(0, 22, 1, false);
            w.endIteration(1);
            w.sendPages(0, 5, 1);
            w.endIteration(2);
            w.complete();

            Verdict atDest = link.destination();
            assertThat(w.verdict()).isEqualTo(atDest);
            assertThat(w.verdict().checkedPages()).isEqualTo(88);
            assertThat(w.verdict().message()).isEqualTo("self-check passed");
            assertThat(w.verdict().digest()).isEqualTo(w.digest()).isEqualTo(link.reader.digest());
        }
        assertThat(missing).containsExactly(new long[] {0, 0, 48}, new long[] {1, 0, 40});
        assertThat(sink.hello.sessionId()).isEqualTo(42);
        assertThat(sink.hello.poisonByte()).isEqualTo(0xAA);
        assertThat(sink.hello.layout().toString()).isEqualTo(PC.toString());
        long[] low = sink.pages.get("ram-low");
        for (int p = 0; p < 10; p++) assertThat(low[p]).as("ram-low page %d", p).isEqualTo(src.hash(0, p));
        for (int p = 10; p < 18; p++) assertThat(low[p]).isEqualTo(fillHash(0));
        assertThat(sink.pages.get("ram-high")[0]).isEqualTo(fillHash(0xAA));
        assertThat(sink.pages.get("ram-high")[39]).isEqualTo(src.hash(1, 39));
        assertThat(sink.balloon.get("ram-low").toString()).isEqualTo(expectedBits(48, 20, 22, 23, 26, 30, 31, 40, 41));
        assertThat(sink.iterations).containsExactly(1, 2);
        assertThat(sink.log).filteredOn(l -> l.startsWith("pages ram-low+0")).hasSize(1);
        assertThat(sink.log).filteredOn(l -> l.startsWith("pages ram-low")).hasSize(4);
        assertThat(sink.log).contains("fill ram-low+10 x8 =0");
        assertThat(sink.completed).isTrue();
    }

    private static String expectedBits(int size, int... fromTo) {
        var b = new dev.ballast.core.mem.PageBitmap(size);
        for (int i = 0; i < fromTo.length; i += 2) b.setRange(fromTo[i], fromTo[i + 1]);
        return b.toString();
    }

    /**
     * The source lists ram-low first, the destination ram-high first: every page must land in the
     * block of its name. A destination that took wire block ids as its own indexes (bitmaps indexed
     * by host block order) puts ram-low's pages into ram-high and fails here.
     */
    @Test
    void shouldPlacePagesByBlockNameWhenTheHostsOrderBlocksDifferently() throws Exception {
        PatternSource src = new PatternSource(PC);
        MemorySink sink = new MemorySink(PC_REVERSED);
        try (Loopback link = new Loopback(src, PageStreamWriter.Options.defaults(7), sink)) {
            PageStreamWriter w = link.writer;
            List<long[]> missing = new ArrayList<>();
            w.open(PC, 0, (b, o, n) -> missing.add(new long[] {b, o, n}));
            // Missing ranges come back in the source's numbering although the destination numbers blocks the other way.
            assertThat(missing).containsExactly(new long[] {0, 0, 48}, new long[] {1, 0, 40});
            w.sendPages(0, 0, 48);
            w.sendPages(1, 0, 40);
            w.sendBalloon(1, 3, 2, true);
            w.complete();
            link.destination();
        }
        for (int p = 0; p < 48; p++) assertThat(sink.pages.get("ram-low")[p]).isEqualTo(src.hash(0, p));
        for (int p = 0; p < 40; p++) assertThat(sink.pages.get("ram-high")[p]).isEqualTo(src.hash(1, p));
        assertThat(sink.balloon.get("ram-high").count()).isEqualTo(2);
        assertThat(sink.balloon.get("ram-low").count()).isZero();
        assertThat(sink.log).anyMatch(l -> l.startsWith("pages ram-low+0 x48"));
    }

    /** Random layouts listed in two random orders, random calls: the destination holds, by name, what the source sent. */
    @Property(tries = 300)
    void shouldDeliverEveryScenarioByName(@ForAll long seed) {
        Scenario s = Scenario.random(seed, 3, 40, 12, 6);
        Outcome o = decode(s.encode(), s.dest());
        assertThat(o.rejection()).as("%s", s).isNull();
        Scenario.Expected e = s.expected();
        for (var b : s.dest().blocks()) {
            assertThat(o.sink().pages.get(b.name()))
                    .as("pages of %s in %s", b.name(), s)
                    .isEqualTo(e.pages().get(b.name()));
            assertThat(o.sink().balloon.get(b.name()).toString())
                    .as("balloon of %s in %s", b.name(), s)
                    .isEqualTo(e.balloon().get(b.name()).toString());
        }
        assertThat(o.sink().iterations).isEqualTo(e.iterations());
        assertThat(o.sink().completed).isTrue();
    }

    @Test
    void shouldRefuseALayoutThatDiffersInSizeBeforeAnyPageMoves() throws Exception {
        refuse(
                layout("ram-low", 0, 48, "ram-high", 0x100000, 41),
                "block ram-high: the source has first PFN 0x100000, 40 pages; this end 0x100000, 41 pages");
    }

    @Test
    void shouldRefuseALayoutThatDiffersByName() throws Exception {
        refuse(layout("ram-low", 0, 48, "ram-hi", 0x100000, 40), "block ram-high is not RAM here");
    }

    @Test
    void shouldRefuseALayoutWithAnotherFirstPfn() throws Exception {
        refuse(layout("ram-low", 0, 48, "ram-high", 0x100001, 40), "the source has first PFN 0x100000");
    }

    @Test
    void shouldRefuseALayoutWithAnotherBlockCount() throws Exception {
        refuse(layout("ram-low", 0, 48), "the source has 2 blocks");
    }

    private void refuse(RamLayout destLayout, String why) throws Exception {
        MemorySink sink = new MemorySink(destLayout);
        try (Loopback link = new Loopback(new PatternSource(PC), PageStreamWriter.Options.defaults(1), sink)) {
            assertThatThrownBy(() -> link.writer.open(PC, 0, (b, o, n) -> {
                        throw new AssertionError("missing range from a refusal");
                    }))
                    .isInstanceOfSatisfying(LinkException.class, e -> {
                        assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL);
                        assertThat(e.getMessage()).contains("refused", "LAYOUT_MISMATCH", why);
                    });
            assertThatThrownBy(link::destination).isInstanceOfSatisfying(WireException.class, e -> {
                assertThat(e.reason()).isEqualTo(WireException.Reason.LAYOUT_MISMATCH);
                assertThat(e.recordType()).isEqualTo(RecordType.HELLO);
                assertThat(e.streamOffset()).isZero();
            });
            assertThatThrownBy(() -> link.writer.sendPages(0, 0, 1)).isInstanceOf(LinkException.class);
        }
        assertThat(sink.hello).isNull();
        assertThat(sink.log).isEmpty();
    }

    /** A destination resuming a failed migration reports only what it lacks; the source learns it in its own numbering. */
    @Test
    void shouldReportOnlyTheMissingPagesOfAResumedMigration() throws Exception {
        MemorySink sink = new MemorySink(PC_REVERSED);
        // local numbering: 0 = ram-high, 1 = ram-low; given unsorted and overlapping
        sink.missing = List.of(
                new long[] {1, 30, 5}, new long[] {0, 0, 2}, new long[] {1, 10, 4}, new long[] {1, 12, 6}, new long[] {
                    1, 18, 1
                });
        List<long[]> missing = new ArrayList<>();
        try (Loopback link = new Loopback(new PatternSource(PC), PageStreamWriter.Options.defaults(9), sink)) {
            link.writer.open(PC, 0, (b, o, n) -> missing.add(new long[] {b, o, n}));
            link.writer.complete();
            link.destination();
        }
        assertThat(missing).containsExactly(new long[] {0, 10, 9}, new long[] {0, 30, 5}, new long[] {1, 0, 2});
    }

    /** More missing ranges than one HELLO_ACK holds: they travel in several, flagged MORE. */
    @Test
    void shouldSplitAHugeMissingListOverSeveralAcks() throws Exception {
        RamLayout big = layout("ram", 0, 400_000);
        MemorySink sink = new MemorySink(big);
        List<long[]> every2nd = new ArrayList<>();
        for (long p = 0; p < 400_000; p += 2) every2nd.add(new long[] {0, p, 1});
        sink.missing = every2nd;
        long[] seen = new long[2];
        try (Loopback link = new Loopback((b, o, n, d, at) -> {}, PageStreamWriter.Options.defaults(9), sink)) {
            link.writer.open(big, 0, (b, o, n) -> {
                assertThat(o).isEqualTo(seen[1]);
                seen[0]++;
                seen[1] = o + 2;
            });
            link.writer.complete();
            link.destination();
        }
        assertThat(seen[0]).isEqualTo(200_000);
    }

    @Test
    void shouldTellTheSourceWhenTheDestinationRefusesForItsOwnReason() throws Exception {
        MemorySink sink = new MemorySink(PC);
        sink.refuse = new WireException(WireException.Reason.REFUSED, "busy with session 0x17");
        try (Loopback link = new Loopback(new PatternSource(PC), PageStreamWriter.Options.defaults(1), sink)) {
            assertThatThrownBy(() -> link.writer.open(PC, 0, (b, o, n) -> {}))
                    .hasMessageContaining("refused the migration: REFUSED: busy with session 0x17");
            assertThatThrownBy(link::destination).isInstanceOf(WireException.class);
        }
    }

    /** A destination that rejects a record mid-stream says why; the source fails with that reason. */
    @Test
    void shouldTellTheSourceWhyTheDestinationRejectedTheStream() throws Exception {
        MemorySink sink = new MemorySink(PC);
        // HELLO of PC is 24 + 17 + 7 + 17 + 8 = 73 bytes; the first PAGES record follows: corrupt its block id.
        long blockIdAt = 73 + WireFormat.PAGES_BLOCK_OFFSET;
        try (Loopback link = new Loopback(
                new PatternSource(PC),
                new PageStreamWriter.Options(1, 4, 4, 0),
                sink,
                c -> new Corrupting(c, blockIdAt, 0x40))) {
            link.writer.open(PC, 0, (b, o, n) -> {});
            assertThatThrownBy(() -> {
                        for (int i = 0; i < 20; i++) link.writer.sendPages(0, 0, 48);
                        link.writer.complete();
                    })
                    .isInstanceOfSatisfying(LinkException.class, e -> {
                        assertThat(e.failureCause()).isEqualTo(FailureCause.PROTOCOL);
                        assertThat(e.getMessage())
                                .contains(
                                        "rejected the stream: UNKNOWN_BLOCK: PAGES record at stream offset 73: block id 64");
                    });
            assertThatThrownBy(link::destination)
                    .isInstanceOfSatisfying(
                            WireException.class,
                            e -> assertThat(e.reason()).isEqualTo(WireException.Reason.UNKNOWN_BLOCK));
        }
        assertThat(sink.log).hasSize(1); // open, and nothing of the rejected record
    }

    @Test
    void shouldTellTheDestinationWhenTheSourceAborts() throws Exception {
        MemorySink sink = new MemorySink(PC);
        try (Loopback link = new Loopback(new PatternSource(PC), PageStreamWriter.Options.defaults(1), sink)) {
            link.writer.open(PC, 0, (b, o, n) -> {});
            link.writer.sendPages(0, 0, 2);
            link.writer.abort("cancelled by the user");
            assertThatThrownBy(link::destination).isInstanceOfSatisfying(WireException.class, e -> {
                assertThat(e.reason()).isEqualTo(WireException.Reason.PEER_ERROR);
                assertThat(e.getMessage()).contains("the source sent ABORTED: cancelled by the user");
            });
            assertThatThrownBy(() -> link.writer.complete())
                    .isInstanceOf(LinkException.class)
                    .hasMessageContaining("aborted");
        }
        assertThat(sink.completed).isFalse();
        assertThat(sink.log).anyMatch(l -> l.startsWith("pages ram-low+0 x2"));
    }
}
