package dev.ballast.core.event;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.policy.CommandIds;
import org.junit.jupiter.api.Test;

class EventTypeTest {

    @Test
    void shouldCodeFieldsAsJournalsAlreadyHoldThem() {
        // journals of every format version so far hold these exact values: never recode
        assertThat(EventType.SendFill.c(64, 0x5A)).isEqualTo(64 | 0x5AL << 48);
        assertThat(EventType.SendFill.c(64, 0)).isEqualTo(64);
        assertThat(EventType.Content.c(3, true)).isEqualTo(3);
        assertThat(EventType.Content.c(3, false)).isEqualTo(-3);
        assertThat(EventType.HintCommand.HINT).isZero();
        assertThat(EventType.HintCommand.FREE_BITMAP).isEqualTo(1);
        assertThat(EventType.Balloon.of(false)).isZero();
        assertThat(EventType.Balloon.of(true)).isEqualTo(1);
        assertThat(EventType.Balloon.AT_SETUP).isEqualTo(2);
        assertThat(EventType.SEND_FILL.id()).isEqualTo(22);
        assertThat(EventType.BALLOON_INFLATE.id()).isEqualTo(10);
    }

    @Test
    void shouldDecodeWhatItEncodes() {
        long c = EventType.SendFill.c((1L << 48) - 1, 0xFF);
        assertThat(EventType.SendFill.pages(c)).isEqualTo((1L << 48) - 1);
        assertThat(EventType.SendFill.fillByte(c)).isEqualTo(0xFF);
        assertThat(EventType.SendFill.zero(c)).isFalse();
        assertThat(EventType.SendFill.zero(EventType.SendFill.c(7, 0))).isTrue();
        assertThat(EventType.Content.pages(EventType.Content.c(9, false))).isEqualTo(9);
        assertThat(EventType.Content.zero(EventType.Content.c(9, false))).isFalse();
        assertThat(EventType.Balloon.atSetup(EventType.Balloon.AT_SETUP)).isTrue();
        assertThat(EventType.Balloon.atSetup(EventType.Balloon.PFNS)).isFalse();
    }

    @Test
    void shouldCodeAQemuRecordAsZeroOrDataWithItsBytes() {
        assertThat(EventType.QEMU_PAGE.id()).isEqualTo(50);
        assertThat(EventType.QemuPage.c(false, 4104)).isEqualTo(4104);
        assertThat(EventType.QemuPage.c(true, 16)).isEqualTo(16 | 1L << 32);
        long c = EventType.QemuPage.c(true, 9);
        assertThat(EventType.QemuPage.zero(c)).isTrue();
        assertThat(EventType.QemuPage.recordBytes(c)).isEqualTo(9);
        assertThat(EventType.QemuPage.zero(EventType.QemuPage.c(false, 4104 + 7)))
                .isFalse();
        StringBuilder sb = new StringBuilder();
        EventType.QEMU_PAGE.appendTo(0, 3, c, sb);
        assertThat(sb).hasToString("QEMU_PAGE block=0 offset=0x3 record=zero 9B");
    }

    @Test
    void shouldCodeAHostDiscardAsPagesAndWhy() {
        assertThat(EventType.HOST_DISCARD.id()).isEqualTo(47);
        assertThat(EventType.HostDiscard.c(512, EventType.HostDiscard.REPORT)).isEqualTo(512);
        assertThat(EventType.HostDiscard.c(1024, EventType.HostDiscard.HINT)).isEqualTo(1024 | 1L << 48);
        long c = EventType.HostDiscard.c((1L << 48) - 1, EventType.HostDiscard.HINT);
        assertThat(EventType.HostDiscard.pages(c)).isEqualTo((1L << 48) - 1);
        assertThat(EventType.HostDiscard.why(c)).isEqualTo(EventType.HostDiscard.HINT);
        StringBuilder sb = new StringBuilder();
        EventType.HOST_DISCARD.appendTo(1, 0x200, EventType.HostDiscard.c(512, EventType.HostDiscard.REPORT), sb);
        assertThat(sb).hasToString("HOST_DISCARD block=1 offset=0x200 pages=512 report");
        // the guest's own view: a replay neither makes nor checks them
        assertThat(java.util.List.of(
                        EventType.REPORT,
                        EventType.REPORT_DONE,
                        EventType.HOST_DISCARD,
                        EventType.SHRINK,
                        EventType.ALLOC_STALL,
                        EventType.RESIDENT))
                .allSatisfy(t -> assertThat(t.kind()).isEqualTo(EventType.Kind.INFO));
    }

    @Test
    void shouldCountEveryBitmapRequestAndOnlyHintCommandsThatAreRequests() {
        assertThat(EventType.HintCommand.startsRequest(CommandIds.MIN, EventType.HintCommand.HINT))
                .isTrue();
        assertThat(EventType.HintCommand.startsRequest(CommandIds.STOP, EventType.HintCommand.HINT))
                .isFalse();
        assertThat(EventType.HintCommand.startsRequest(CommandIds.DONE, EventType.HintCommand.HINT))
                .isFalse();
        assertThat(EventType.HintCommand.startsRequest(CommandIds.DONE, EventType.HintCommand.FREE_BITMAP))
                .isTrue();
    }

    @Test
    void shouldNameTheTypesAGuestSends() {
        assertThat(java.util.Arrays.stream(EventType.values()).filter(EventType::guestRequest))
                .containsExactlyInAnyOrder(
                        EventType.HINT,
                        EventType.FREE_BITMAP,
                        EventType.FREE_BITMAP_END,
                        EventType.BALLOON_INFLATE,
                        EventType.BALLOON_DEFLATE,
                        EventType.REJECT);
    }

    @Test
    void shouldDefineAtMostThreeUniquelyNamedFieldsPerType() {
        for (EventType t : EventType.values()) {
            assertThat(t.fields()).hasSizeLessThanOrEqualTo(3);
            assertThat(t.fields()).extracting(EventField::name).doesNotHaveDuplicates();
            assertThat(t.fields()).allSatisfy(f -> assertThat(f.meaning()).isNotBlank());
        }
    }
}
