package dev.ballast.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.core.event.EventType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalRoundTripTest {
    @TempDir
    Path tmp;

    record Ev(EventType type, long t, long a, long b, long c) {}

    @Test
    @SuppressWarnings("try") // closed inside its block on purpose: what a writer reports after close is under test
    void shouldReadBackEveryEventTypeWithHeaderFooterAndDigest() {
        Path dir = tmp.resolve("j");
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("seed", "42");
        meta.put("backend", "sim");
        meta.put("costProfile", "{\"copyNsPerPage\": 310, \"name\": \"ünïcode\"}");
        List<Ev> written = new ArrayList<>();
        long digest;
        try (JournalWriter w = JournalWriter.create(dir, meta)) {
            long t = 0;
            for (EventType type : EventType.values()) {
                Ev e = new Ev(type, t += 1_234_567, type.id() * 3L, -type.id(), Long.MAX_VALUE - type.id());
                written.add(e);
                w.publish(e.type, e.t, e.a, e.b, e.c);
            }
            w.close();
            assertThat(w.events()).isEqualTo(written.size());
            digest = w.digest();
        }
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.header().formatVersion()).isEqualTo(JournalFormat.FORMAT_VERSION);
            assertThat(r.header().metadata()).containsExactlyEntriesOf(meta);
            assertThat(r.cutShort()).isFalse();
            assertThat(r.footer().events()).isEqualTo(written.size());
            assertThat(r.footer().digest()).isEqualTo(digest);
            List<Ev> read = new ArrayList<>();
            while (r.next()) {
                EventRecord e = r.record();
                assertThat(r.eventNumber()).isEqualTo(read.size());
                read.add(new Ev(e.type(), e.timeNs(), e.a(), e.b(), e.c()));
            }
            assertThat(read).containsExactlyElementsOf(written);
            assertThat(r.verifyDigest()).isEqualTo(digest);
        }
    }

    @Test
    @SuppressWarnings("try") // closed inside its block on purpose: what a writer reports after close is under test
    void shouldReadAnEmptyJournal() {
        Path dir = tmp.resolve("empty");
        try (JournalWriter w = JournalWriter.create(dir, Map.of())) {
            w.close();
            assertThat(w.events()).isZero();
        }
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.next()).isFalse();
            assertThat(r.events()).isZero();
            assertThat(r.cutShort()).isFalse();
            assertThat(r.verifyDigest()).isEqualTo(new JournalDigest().value());
            r.seek(0);
            assertThat(r.next()).isFalse();
            assertThat(r.lastCheckpointAtOrBefore(0)).isNull();
        }
    }

    @Test
    void shouldRefuseADirectoryThatAlreadyHoldsAJournal() {
        Path dir = tmp.resolve("twice");
        JournalWriter.create(dir, Map.of()).close();
        assertThatThrownBy(() -> JournalWriter.create(dir, Map.of()))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("already holds a journal");
    }

    @Test
    void shouldSayThereIsNoJournal() {
        assertThatThrownBy(() -> JournalReader.open(tmp))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("no journal in");
        assertThatThrownBy(() -> JournalReader.open(tmp.resolve("missing")))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("not a directory");
    }

    /**
     * A journal of format 1, as Ballast wrote it before format 2 bound documents to their header
     * ({@code ballast run --mem 64M --workload compile --policy hint --seed 1} at commit 068d380; its queue
     * file ends after the footer, 590,924 bytes, gzipped): still read, its digest still verified.
     */
    @Test
    void shouldReadAJournalOfTheFormerFormat() throws Exception {
        Path dir = java.nio.file.Files.createDirectories(tmp.resolve("format1"));
        try (var in = new java.util.zip.GZIPInputStream(
                JournalRoundTripTest.class.getResourceAsStream("format1-compile-hint-seed1.cq4.gz"))) {
            java.nio.file.Files.copy(in, dir.resolve("20261203H.cq4"));
        }
        try (JournalReader r = JournalReader.open(dir)) {
            assertThat(r.header().formatVersion()).isEqualTo(1);
            assertThat(r.header().get("seed")).isEqualTo("1");
            assertThat(r.cutShort()).isFalse();
            assertThat(r.events()).isEqualTo(1617);
            assertThat(JournalDigest.toHex(r.verifyDigest())).isEqualTo("062c715c7fe7a066");
            r.seek(1000);
            assertThat(r.next()).isTrue();
            assertThat(r.eventNumber()).isEqualTo(1000);
        }
        assertThat(dir.toFile().list())
                .as("nothing written beside the queue file")
                .containsExactly("20261203H.cq4");
    }
}
