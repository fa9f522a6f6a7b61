package dev.ballast.kvm.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.GuestFeatures;
import dev.ballast.core.mem.RamLayout;
import dev.ballast.core.wire.Hello;
import dev.ballast.core.wire.WireFormat;
import dev.ballast.kvm.Kvm;
import dev.ballast.kvm.dest.GuestSink;
import dev.ballast.kvm.guestabi.GuestAbi;
import dev.ballast.kvm.guestabi.GuestImage;
import dev.ballast.kvm.guestabi.Reply;
import dev.ballast.kvm.testing.KvmTests;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Pages whose only differing byte sits at an edge of the page: the first or last byte, the first
 * or last 8-byte word, either side of a 64-byte cache line. A zero (or fill) check that looks at
 * words, lines or a shortened range is wrong exactly there. Checked on the real guest's memory: the
 * source host's zero check ({@code classify}), the destination host's ({@code GuestSink.fill}),
 * and the guest program's own check of its poisoned free pages.
 */
class EdgePagesTest {
    private static final RamLayout LAYOUT = RamLayout.pcLike(64L << 20);
    /** Byte offsets in a page: first byte, inside and at the end of the first word, both sides of each of two line boundaries, the last word, the last byte. */
    static final int[] EDGES = {0, 7, 8, 63, 64, 127, 128, 2047, 2048, 4031, 4032, 4087, 4088, 4095};
    /** Pages in ram-low's upper half, every other one, so that each edge page has zero pages on both sides. */
    private static final long FIRST = LAYOUT.totalPages() - 2L * EDGES.length - 8;

    private static long pageOf(int k) {
        return FIRST + 2L * k;
    }

    @Test
    void theSourceZeroCheckSeesAByteAtEveryEdgeOfAPage() {
        KvmTests.assumeKvm();
        GuestFeatures f = new GuestFeatures(true, false, false, 0);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = KvmGuest.boot(kvm, LAYOUT, f, WorkloadSettings.commandsOnly(f, false, 42))) {
            g.pause();
            MemorySegment mem = g.blockMemory(0);
            for (int k = 0; k < EDGES.length; k++) {
                long p = pageOf(k);
                assertThat(g.classify(0, p - 1, 3))
                        .as("pages around %d start zero", p)
                        .isEqualTo(3);
                for (byte v : new byte[] {1, (byte) 0x80}) {
                    mem.set(ValueLayout.JAVA_BYTE, p * GuestAbi.PAGE_SIZE + EDGES[k], v);
                    String what = "page " + p + " with byte " + EDGES[k] + " = " + v;
                    assertThat(g.classify(0, p, 1)).as(what).isEqualTo(-1);
                    assertThat(g.classify(0, p - 1, 3))
                            .as("%s: the zero run before it ends at it", what)
                            .isEqualTo(1);
                    assertThat(g.classify(0, p, 3))
                            .as("%s: the data run is that page alone", what)
                            .isEqualTo(-1);
                    assertThat(g.classify(0, p + 1, 1))
                            .as("%s: the page after is still zero", what)
                            .isEqualTo(1);
                    mem.set(ValueLayout.JAVA_BYTE, p * GuestAbi.PAGE_SIZE + EDGES[k], (byte) 0);
                }
                assertThat(g.classify(0, p - 1, 3)).isEqualTo(3);
            }
        }
    }

    @Test
    void theDestinationZeroesAPageWhoseOnlyByteSitsAtAnEdge() {
        KvmTests.assumeKvm();
        List<KvmGuest> made = new ArrayList<>();
        try (Kvm kvm = Kvm.open();
                GuestSink sink = new GuestSink(
                        (l, poison) -> {
                            KvmGuest g = KvmGuest.incoming(kvm, l, new GuestFeatures(true, false, false, poison));
                            made.add(g);
                            return g;
                        },
                        Long.MAX_VALUE,
                        null)) {
            sink.open(new Hello(WireFormat.VERSION, 7, 0, LAYOUT), (b, o, c) -> {});
            MemorySegment mem = made.getFirst().blockMemory(0);
            ByteBuffer page = ByteBuffer.allocateDirect(GuestAbi.PAGE_SIZE);
            for (int k = 0; k < EDGES.length; k++) {
                long p = pageOf(k);
                page.clear();
                for (int i = 0; i < GuestAbi.PAGE_SIZE; i++) page.put(i, (byte) 0);
                page.put(EDGES[k], (byte) 0x80);
                // An earlier stream wrote the page; this one says it is zero now.
                sink.writePages(0, p, 1, page.duplicate());
                assertThat(mem.get(ValueLayout.JAVA_BYTE, p * GuestAbi.PAGE_SIZE + EDGES[k]))
                        .isEqualTo((byte) 0x80);
                sink.fill(0, p, 1, 0);
                long mismatch = MemorySegment.mismatch(
                        mem,
                        p * GuestAbi.PAGE_SIZE,
                        (p + 1) * GuestAbi.PAGE_SIZE,
                        MemorySegment.ofArray(new byte[GuestAbi.PAGE_SIZE]),
                        0,
                        GuestAbi.PAGE_SIZE);
                assertThat(mismatch)
                        .as("page %d after FILL 0, its byte %d had been 0x80", p, EDGES[k])
                        .isEqualTo(-1);
            }
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theGuestFindsAPoisonedFreePageWithOneByteChangedAtAnyEdge() {
        KvmTests.assumeKvm();
        int poison = 0x5A;
        GuestFeatures f = new GuestFeatures(true, false, false, poison);
        try (Kvm kvm = Kvm.open();
                KvmGuest g = KvmGuest.incoming(kvm, LAYOUT, f)) {
            g.machine().boot(GuestImage.load(), WorkloadSettings.commandsOnly(f, false, 42));
            Reply before = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(before.arg(1)).as("bad pages before any change").isZero();
            MemorySegment mem = g.blockMemory(0);
            for (int k = 0; k < EDGES.length; k++) {
                long at = pageOf(k) * GuestAbi.PAGE_SIZE + EDGES[k];
                assertThat(mem.get(ValueLayout.JAVA_BYTE, at))
                        .as("a free page holds the poison")
                        .isEqualTo((byte) poison);
                mem.set(ValueLayout.JAVA_BYTE, at, (byte) (poison ^ (k % 2 == 0 ? 0x01 : 0x80)));
            }
            Reply after = g.call(GuestAbi.OP_SELF_CHECK);
            assertThat(after.arg(0)).as("pages checked").isEqualTo(before.arg(0));
            assertThat(after.arg(1)).as("bad pages: one a changed edge").isEqualTo(EDGES.length);
            assertThat(after.arg(2))
                    .as("the first bad PFN")
                    .isEqualTo(LAYOUT.block(0).firstPfn() + pageOf(0));
            assertThat(after.arg(3)).as("kind").isEqualTo(GuestAbi.CHECK_POISON);
        }
    }
}
