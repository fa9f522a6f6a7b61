package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.event.EventField;
import dev.ballast.core.event.EventType;
import org.junit.jupiter.api.Test;

class EventDissectorTest {

    @Test
    void shouldPrintARangeEventReadably() {
        assertThat(EventDissector.toString(1234, EventType.SEND_NORMAL, 12_345_678, 0, 0x1200, 64))
                .isEqualTo("#1234 t=12.345ms SEND_NORMAL block=0 offset=0x1200 pages=64");
    }

    @Test
    void shouldDecodeCodedFields() {
        assertThat(EventDissector.toString(1, EventType.SEND_FILL, 0, 1, 0x10, EventType.SendFill.c(64, 0x5A)))
                .endsWith("SEND_FILL block=1 offset=0x10 pages=64 fill=0x5a");
        assertThat(EventDissector.toString(2, EventType.HINT_COMMAND, 0, 1, 0, 0))
                .endsWith("HINT_COMMAND cmd=done kind=hint");
        assertThat(EventDissector.toString(3, EventType.HINT, 0, 0x80000001L, 0x4000, 512))
                .endsWith("HINT cmd=0x80000001 pfn=0x4000 pages=512");
        assertThat(EventDissector.toString(4, EventType.REJECT, 0, 1, 0x10, 1))
                .endsWith("REJECT reason=STALE_COMMAND pfn=0x10 pages=1");
        assertThat(EventDissector.toString(5, EventType.LINK_FAILED, 0, 2, 0, 0))
                .endsWith("LINK_FAILED cause=TIMEOUT");
        assertThat(EventDissector.toString(6, EventType.CONTENT, 0, 0, 8, -3))
                .endsWith("CONTENT block=0 offset=0x8 pages=3 nonzero");
        assertThat(EventDissector.toString(7, EventType.CANCEL, 1_500, 9, 9, 9)).isEqualTo("#7 t=0.001ms CANCEL");
        assertThat(EventDissector.toString(8, EventType.GUEST_RUN_STATE, -2_000_000, 1, 0, 0))
                .isEqualTo("#8 t=-2.000ms GUEST_RUN_STATE paused=yes");
    }

    @Test
    void shouldNameTheConvergenceDecisionTheEngineWrote() {
        // c is Convergence.Decision's ordinal, not a yes/no: 2 is the iteration cap
        assertThat(EventDissector.toString(9, EventType.CONVERGENCE, 0, 4096, 1000, 2))
                .endsWith("CONVERGENCE remainingBytes=4096 bandwidthBytesPerS=1000 decision=ITERATION_CAP");
        assertThat(EventDissector.toString(10, EventType.CONVERGENCE, 0, 0, 0, 0))
                .endsWith("decision=CONTINUE");
    }

    @Test
    void shouldSayABalloonRangeWasReportedAtSetup() {
        assertThat(EventDissector.toString(11, EventType.BALLOON_INFLATE, 0, 2, 0x100, 8))
                .endsWith("BALLOON_INFLATE source=setup pfn=0x100 pages=8");
        assertThat(EventDissector.toString(12, EventType.BALLOON_DEFLATE, 0, 1, 0x100, 8))
                .endsWith("BALLOON_DEFLATE source=bitmap pfn=0x100 pages=8");
    }

    @Test
    void shouldPrintPhasesByName() {
        assertThat(EventDissector.toString(13, EventType.PHASE, 0, 3, 4, 0))
                .endsWith("PHASE phase=STOP_AND_COPY iteration=4");
    }

    @Test
    void shouldNameAllThreeFieldsOfRangeEventsTheSameWay() {
        for (EventType t :
                new EventType[] {EventType.DIRTY, EventType.SEND_NORMAL, EventType.SKIP_BALLOON, EventType.SKIP_FREE}) {
            assertThat(t.fields()).extracting(EventField::name).containsExactly("block", "offset", "pages");
        }
        for (EventType t : EventType.values()) assertThat(t.fields()).hasSizeLessThanOrEqualTo(3);
    }

    @Test
    void shouldPrintAnUnknownTypeWithoutFailing() {
        byte[] buf = new byte[RecordDescriptor.LENGTH];
        RecordDescriptor.encode(buf, 0, 63, 0, 1, 2, 3);
        assertThat(new EventRecord().wrap(buf, 0).toString()).isEqualTo("t=0.000ms UNKNOWN(type=63) a=1 b=2 c=3");
    }

    @Test
    void shouldLayOutRecordsAsDescribed() {
        byte[] buf = new byte[RecordDescriptor.LENGTH * 2];
        RecordDescriptor.encode(buf, RecordDescriptor.LENGTH, EventType.VERIFY.id(), 7, -1, 2, 3);
        EventRecord r = new EventRecord().wrap(buf, RecordDescriptor.LENGTH);
        assertThat(buf[RecordDescriptor.LENGTH]).isEqualTo((byte) 41);
        assertThat(r.type()).isEqualTo(EventType.VERIFY);
        assertThat(r.flags()).isZero();
        assertThat(r.timeNs()).isEqualTo(7);
        assertThat(r.a()).isEqualTo(-1);
        assertThat(r.word(4)).isEqualTo(3);
        assertThat(buf[RecordDescriptor.LENGTH + RecordDescriptor.A_OFFSET]).isEqualTo((byte) 0xFF);
    }
}
