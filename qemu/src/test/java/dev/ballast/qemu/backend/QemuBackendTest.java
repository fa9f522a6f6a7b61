package dev.ballast.qemu.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Phase;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.run.Backend;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.ManifestSink;
import dev.ballast.core.run.RunManifest;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.journal.JournalReader;
import dev.ballast.qemu.Qemu;
import dev.ballast.qemu.guest.GuestImage;
import dev.ballast.qemu.guest.QemuUnavailableException;
import dev.ballast.qemu.stream.QemuStreamVisitor;
import dev.ballast.qemu.stream.RamBlock;
import dev.ballast.replay.JournalRecorder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --backend qemu} end to end on real QEMU and a real Linux guest (TCG here, KVM where it boots): 256 MiB
 * guests, hints off and on. QEMU's {@code query-migrate} and Ballast's reading of the stream must agree exactly; the
 * destination must run; the guest's check of its stamps must pass, and must fail when the stream is corrupted.
 * Skipped, with the reason, without {@code qemu-system-x86_64} or the guest's kernel.
 */
class QemuBackendTest {
    static final long MEM = 256L << 20;
    private static String unavailable;
    private static String accelerator;

    @BeforeAll
    static void environment() throws IOException {
        try {
            GuestImage image = GuestImage.prepare(GuestImage.defaultCache());
            Path probe = Files.createTempDirectory("ballast-qemu-probe-");
            try {
                accelerator = Qemu.find(null, image, probe).accelerator().qemuName();
            } finally {
                deleteTree(probe);
            }
        } catch (QemuUnavailableException e) {
            unavailable = e.getMessage();
        }
    }

    private static RunReport run(Scenario s, QemuStreamVisitor tap) {
        return run(s, tap, EventSink.NONE);
    }

    private static RunReport run(Scenario s, QemuStreamVisitor tap, EventSink events) {
        Assumptions.assumeTrue(unavailable == null, () -> "no QEMU test: " + unavailable);
        new QemuBackend().check(s, BackendOptions.DEFAULTS);
        long t0 = System.nanoTime();
        RunReport r = new QemuRun(s, BackendOptions.UserBuild.NONE, events, Backend.Progress.NONE, tap).run();
        System.out.printf(
                "qemu backend: %s %s %s: %.0f ms (QEMU), wall %.0f ms (test %d ms), normal %d, zero %d, "
                        + "bytes %d, passes %d, syncs %d, checked %d; vmm %s%n",
                s.workload(),
                s.policy(),
                r.vmm().accelerator(),
                r.totalTimeMs(),
                r.wallTimeMs(),
                (System.nanoTime() - t0) / 1_000_000,
                r.pages().normal(),
                r.pages().zero(),
                r.transferredBytes(),
                r.iterations(),
                r.ram().dirtySyncCount(),
                r.verify().checkedPages(),
                r.vmm());
        return r;
    }

    private static void assertAgreesWithQemu(RunReport r) {
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.vmm().accelerator()).isEqualTo(accelerator);
        assertThat(r.vmm().stream().get("normal"))
                .as("PAGE records = query-migrate ram.normal")
                .isEqualTo(r.vmm().own().get("normal"));
        assertThat(r.vmm().stream().get("zero"))
                .as("ZERO records = query-migrate ram.duplicate")
                .isEqualTo(r.vmm().own().get("duplicate"));
        assertThat(r.vmm().stream().get("ramBytes"))
                .as("RAM bytes = query-migrate ram.transferred")
                .isEqualTo(r.vmm().own().get("transferred"));
        assertThat(r.vmm().agrees()).isTrue();
        assertThat(r.pages().normal()).isEqualTo(r.vmm().own().get("normal"));
    }

    /** A journal as {@code ballast run --journal} opens it: when the backend names the run's manifest. */
    private static final class TestJournal implements ManifestSink {
        final Path dir;
        JournalRecorder recorder;

        TestJournal(Path dir) {
            this.dir = dir;
        }

        @Override
        public void open(RunManifest manifest, Map<String, String> header) {
            recorder = new JournalRecorder(dir, manifest, header);
        }

        @Override
        public void publish(EventType type, long timeNs, long a, long b, long c) {
            recorder.publish(type, timeNs, a, b, c);
        }
    }

    @Test
    void shouldMigrateAMemoryHogWithHintsOffAndOnAndAgreeWithQemuExactly() throws IOException {
        Path dir = Files.createTempDirectory("ballast-qemu-journal-");
        TestJournal journal = new TestJournal(dir.resolve("legacy"));
        RunReport legacy;
        try {
            legacy = run(QemuBackendCheckTest.scenario(MEM, "memhog", "legacy"), new QemuStreamVisitor() {}, journal);
            assertThat(journal.recorder).as("the journal was opened").isNotNull();
            journal.recorder.close();
            assertJournalAgreesWithQemu(journal.dir, legacy);
        } finally {
            if (journal.recorder != null) journal.recorder.close();
            deleteTree(dir);
        }
        RunReport hint = run(QemuBackendCheckTest.scenario(MEM, "memhog", "hint"), new QemuStreamVisitor() {});
        for (RunReport r : new RunReport[] {legacy, hint}) {
            assertAgreesWithQemu(r);
            if (r == hint && !r.verify().ok()) {
                // The real thing's finding (docs/findings.md, finding 3): QEMU before 9.0 under TCG loses the guest's
                // stores after a dirty-log sync, and hint runs sync in the middle of the bulk sweep; the destination's
                // kernel then crashes before the guest's check, or the guest finds stamps changed. Ballast must say so
                // as invariant 1, naming the kernel's line or the pages; QEMU's counts and Ballast's still agree.
                assertThat(r.vmm().accelerator()).isEqualTo("tcg");
                assertThat(r.verify().violation())
                        .startsWith("invariant 1 (no lost write)")
                        .containsAnyOf(
                                "the destination's kernel crashed after the migration",
                                "stamped pages differ on the destination")
                        .contains("docs/findings.md, finding 3");
                System.out.println("qemu backend: memhog hint: " + r.verify().violation());
                continue;
            }
            // the guest stamped used = 4% of 256 MiB = 2,621 pages at boot and checked each on the destination
            assertThat(r.verify().checkedPages()).isGreaterThanOrEqualTo(2621);
            assertThat(r.verify().mismatchedPages()).isZero();
            assertThat(r.verify().ok()).as(r.verify().violation()).isTrue();
        }
        // the hog's freed pages hold data: legacy sends them, the real driver's hints keep them off the wire
        assertThat(hint.pages().normal()).isLessThan(legacy.pages().normal());
    }

    /**
     * The journal of a run holds every page record QEMU sent: its QEMU_PAGE events count what {@code query-migrate}
     * counts (data and zero records, RAM bytes: each record's bytes plus 8 for each PART section's EOS, as QEMU 7.2
     * adds them), the last QMP figures it holds are QEMU's dirty-log syncs, the layout is QEMU's block list, and it
     * ends with the migration completed.
     */
    private static void assertJournalAgreesWithQemu(Path dir, RunReport r) {
        long[] data = new long[1];
        long[] zero = new long[1];
        long[] bytes = new long[1];
        long[] steps = new long[1];
        long[] syncs = new long[1];
        long[] lastSyncBegin = new long[1];
        long[] completed = new long[1];
        long[] passes = new long[1];
        try (JournalReader reader = JournalReader.open(dir)) {
            assertThat(reader.cutShort()).isFalse();
            assertThat(reader.header().get(RunManifest.KEY_BACKEND)).isEqualTo("qemu");
            assertThat(reader.header().get(RunManifest.KEY_POLICY)).isEqualTo(r.policy());
            assertThat(reader.header().get("qemu.blocks")).contains("\"name\":\"pc.ram\",\"bytes\":" + MEM);
            reader.read(
                    (n, e) -> {
                        switch (e.type()) {
                            case QEMU_PAGE -> {
                                if (EventType.QemuPage.zero(e.c())) zero[0]++;
                                else data[0]++;
                                bytes[0] += EventType.QemuPage.recordBytes(e.c());
                            }
                            case STEP -> steps[0]++;
                            case QEMU_STATUS -> syncs[0] = e.a();
                            case SYNC_BEGIN -> lastSyncBegin[0] = e.a();
                            case ITERATION_END -> passes[0]++;
                            case END -> completed[0] = e.a() == Phase.COMPLETED.ordinal() ? 1 : 0;
                            default -> {}
                        }
                    },
                    Long.MAX_VALUE);
        }
        // STEP: RAM's START, every PART and the END; QEMU counts 8 bytes of EOS for each PART
        long parts = steps[0] - 2;
        assertThat(parts).isEqualTo(r.vmm().stream().get("partSections"));
        assertThat(data[0])
                .as("journal's data pages = query-migrate ram.normal")
                .isEqualTo(r.vmm().own().get("normal"));
        assertThat(zero[0])
                .as("journal's zero pages = query-migrate ram.duplicate")
                .isEqualTo(r.vmm().own().get("duplicate"));
        assertThat(bytes[0] + 8 * parts)
                .as("journal's record bytes = query-migrate ram.transferred")
                .isEqualTo(r.vmm().own().get("transferred"));
        assertThat(syncs[0])
                .as("QEMU's syncs in the journal")
                .isEqualTo(r.vmm().own().get("dirtySyncCount"));
        assertThat(lastSyncBegin[0]).isEqualTo(r.vmm().own().get("dirtySyncCount"));
        assertThat(completed[0]).as("the journal ends COMPLETED").isEqualTo(1);
        // passes as the stream shows them, the stop-and-copy one of them, as the other backends count them; QEMU's
        // syncs are the RAM figures' dirty-sync-count
        assertThat(r.iterations()).as("passes = the journal's ITERATION_END").isEqualTo(passes[0]);
        assertThat(r.ram().dirtySyncCount()).isEqualTo(r.vmm().own().get("dirtySyncCount"));
    }

    /**
     * The guest's check can fail: the test's tap flips one byte of every stamped page as it passes the relay (a page
     * whose first two little-endian words differ by the stamp's step), so the destination holds wrong copies.
     */
    @Test
    void shouldReportALostWriteWhenTheStreamCarriesWrongPageContents() throws IOException {
        long[] corrupted = new long[1];
        QemuStreamVisitor corrupt = new QemuStreamVisitor() {
            @Override
            public void onPage(long at, RamBlock block, long offset, byte[] data, int dataOff) {
                ByteBuffer b = ByteBuffer.wrap(data, dataOff, 4096).order(ByteOrder.LITTLE_ENDIAN);
                if (b.getLong(dataOff + 8) - b.getLong(dataOff) == 0xD6E8FEB86659FD93L) {
                    data[dataOff + 100] ^= 0x5A;
                    corrupted[0]++;
                }
            }
        };
        RunReport r = run(QemuBackendCheckTest.scenario(MEM, "idle", "legacy"), corrupt);
        assertThat(corrupted[0]).as("stamped pages seen in the stream").isGreaterThanOrEqualTo(2621);
        assertThat(r.verify().ok()).isFalse();
        assertThat(r.verify().mismatchedPages()).isGreaterThan(0);
        assertThat(r.verify().violation())
                .startsWith("invariant 1 (no lost write)")
                .contains("the consoles are in ");
        deleteTree(Path.of(r.verify()
                .violation()
                .substring(r.verify().violation().indexOf("the consoles are in ") + "the consoles are in ".length())));
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (java.util.stream.Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
