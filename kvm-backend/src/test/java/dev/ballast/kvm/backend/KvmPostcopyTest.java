package dev.ballast.kvm.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.engine.Postcopy;
import dev.ballast.core.event.EventSink;
import dev.ballast.core.event.EventType;
import dev.ballast.core.invariant.Invariant;
import dev.ballast.core.run.BackendOptions;
import dev.ballast.core.run.RunReport;
import dev.ballast.core.run.Scenario;
import dev.ballast.kvm.dest.DestinationServer;
import dev.ballast.kvm.dest.PostcopySummary;
import dev.ballast.kvm.net.CuttingProxy;
import dev.ballast.kvm.testing.KvmTests;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Postcopy into a real KVM destination in this process: pre-copy's first pass, the switch-over (the
 * stale pages discarded, the guest's state, SWITCH_OVER), the guest resumed on the destination with
 * its missing pages registered with userfaultfd; its faults go back as PAGE_REQUESTs, the pages come
 * with UFFDIO_COPY or UFFDIO_ZEROPAGE, and at COMPLETE the guest checks every page it wrote, on the
 * source and since, on the destination.
 */
class KvmPostcopyTest {
    /**
     * A downtime limit pre-copy cannot meet after its first pass, so the migration switches over there; on a
     * 200 Mbit/s link, so that the background push lasts long enough for the guest to fault (on a link without a
     * limit the push may be over before the destination's vCPU is first scheduled on a loaded host: no fault).
     */
    static Scenario scenario(String policy) {
        Scenario s = KvmMigrationTest.scenario(64L << 20, "random-write", policy);
        return s.withLimits(200_000_000L, 1_000_000L, 30, 0).withPostcopy(Postcopy.parse("1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldSwitchOverAndFaultPagesInUntilTheGuestVerifiesOnTheDestination(String policy) {
        KvmTests.assumeKvm();
        RunReport r = KvmMigrationTest.run(scenario(policy), EventSink.NONE, KvmRun.Hooks.NONE);
        KvmMigrationTest.assertVerified(r);
        RunReport.Postcopy pc = r.postcopy();
        System.out.println("postcopy on KVM (" + policy + "): " + pc);
        assertThat(pc).as("the migration switched to postcopy").isNotNull();
        // random-write dirties pages all the time: some were sent in the first pass and written since
        assertThat(pc.discardedPages()).isPositive();
        assertThat(pc.postcopyBytes()).isPositive();
        // the guest runs on the destination at once and touches pages it lacks
        assertThat(pc.faults()).isPositive();
        assertThat(pc.faultLatencyMedianMs()).isPositive();
        assertThat(pc.faultLatencyP99Ms()).isGreaterThanOrEqualTo(pc.faultLatencyMedianMs());
        assertThat(pc.faultLatencyMaxMs()).isGreaterThanOrEqualTo(pc.faultLatencyP99Ms());
        assertThat(pc.lostProgressMs()).isGreaterThanOrEqualTo(pc.faultLatencyMaxMs());
        // the downtime is the switch-over's, not cut by the destination's self-check
        assertThat(r.downtimeMs()).isPositive();
    }

    /**
     * Free page hints allowed with postcopy ({@code --postcopy-hints}): pages hinted free in pass 1 are neither sent nor
     * dirty, so they never reach the destination; a guest that does not take them back (random-write writes only the
     * pages it holds) never faults on them. Nothing is lost: invariant 1 is about the pages the guest has in use, and
     * the guest checks them itself. The destination places the pages no one sent as zero at COMPLETE (what QEMU's guest
     * reads once postcopy ends and userfaultfd lets go), says how many, and lets the guest check itself. (The
     * property suite found it: the verdict was "invariant 1 (no lost write): 2048 pages never arrived in postcopy",
     * without the guest's check, on a run the simulator finds clean.)
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldLetTheGuestCheckItselfWhenHintedPagesWereNeverSentInPostcopy(boolean remote) throws Exception {
        KvmTests.assumeKvm();
        Scenario s = KvmMigrationTest.scenario(64L << 20, "random-write,used=25%,rate=64MiB/s", "hint")
                .withLimits(200_000_000L, 1_000_000L, 30, 0)
                .withPostcopy(Postcopy.parse("1").withHints(true));
        RunReport r;
        if (remote) {
            List<String> log = new CopyOnWriteArrayList<>();
            try (DestinationServer d = dest(log)) {
                r = RemoteMigrationTest.run(s, d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            }
        } else {
            r = KvmMigrationTest.run(s, EventSink.NONE, KvmRun.Hooks.NONE);
        }
        assertThat(r.hints().pages()).as("pages hinted free in pass 1").isPositive();
        assertThat(r.pages().skippedFree()).isPositive();
        assertThat(r.postcopy()).as("the migration switched to postcopy").isNotNull();
        KvmMigrationTest.assertVerified(r);
    }

    /**
     * The same over TCP, to a {@code ballast dest} on loopback: the guest resumes in the destination's VM, its faults
     * go back as PAGE_REQUEST records, and the destination's fault figures come back in its verdict.
     */
    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldSwitchOverToARemoteDestinationAndServeItsFaultsOverTheWire(String policy) throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(scenario(policy), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            RunReport.Postcopy pc = r.postcopy();
            System.out.println("postcopy over TCP (" + policy + "): " + pc);
            assertThat(pc).as("the migration switched to postcopy").isNotNull();
            assertThat(pc.discardedPages()).isPositive();
            assertThat(pc.postcopyBytes()).isPositive();
            DestinationServer.Served s =
                    d.awaitServed(1, Duration.ofSeconds(10)).getFirst();
            assertThat(s.outcome()).isEqualTo("completed");
            assertThat(s.verdict().ok()).isTrue();
            // the faults are the destination's: they came back in its verdict, and it logged them
            PostcopySummary dest = PostcopySummary.parse(s.verdict().message());
            assertThat(dest)
                    .as("the verdict carries the destination's fault figures")
                    .isNotNull();
            assertThat(pc.faults()).isEqualTo(dest.requests() + dest.heldZero()).isPositive();
            assertThat(dest.requests())
                    .as("every fault turned into a request reached the source, or its page was on its way")
                    .isGreaterThanOrEqualTo(pc.postcopyRequests());
            // (a guest may fault only on a page it holds as zero, which asks for nothing and waits for nothing)
            if (dest.requests() > 0) assertThat(pc.faultLatencyMedianMs()).isPositive();
            assertThat(pc.faultLatencyMedianMs()).isEqualTo(dest.medianNs() / 1e6);
            assertThat(pc.faultLatencyP99Ms()).isGreaterThanOrEqualTo(pc.faultLatencyMedianMs());
            assertThat(log).anyMatch(l -> l.contains("verify ok") && l.contains("postcopy: "));
        }
    }

    static DestinationServer dest(List<String> log) throws Exception {
        return dest(log, null);
    }

    static DestinationServer dest(List<String> log, DestinationServer.Journals journals) throws Exception {
        return dest(log, journals, null);
    }

    /** A destination that loses the pages {@code drop} names (null: none). */
    static DestinationServer dest(List<String> log, DestinationServer.Journals journals, LongPredicate drop)
            throws Exception {
        return DestinationServer.start(
                new DestinationServer.Options(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        null,
                        RemoteMigrationTest.TIMEOUT_NS,
                        1L << 30,
                        0,
                        null,
                        drop,
                        line -> {
                            log.add(line);
                            System.out.println("[dest] " + line);
                        }),
                journals);
    }

    /** A destination's journals in memory: the sessions opened, each one's events, and whether it was closed. */
    static final class MemoryJournals implements DestinationServer.Journals {
        final List<Long> sessions = new CopyOnWriteArrayList<>();
        final List<Events> events = new CopyOnWriteArrayList<>();
        final List<Boolean> closed = new CopyOnWriteArrayList<>();

        @Override
        public DestinationServer.Journal open(dev.ballast.core.wire.Hello hello) {
            int i = sessions.size();
            sessions.add(hello.sessionId());
            Events ev = new Events();
            events.add(ev);
            closed.add(false);
            return new DestinationServer.Journal() {
                @Override
                public void publish(EventType type, long timeNs, long a, long b, long c) {
                    ev.publish(type, timeNs, a, b, c);
                }

                @Override
                public String closeAndDescribe() {
                    closed.set(i, true);
                    return "journal " + i;
                }
            };
        }
    }

    /**
     * {@code ballast dest --journal}: a postcopy migration whose link fails after the switch-over is one journal at
     * the destination, kept open across the recovery and closed when the migration completes, and its faults are
     * the ones the verdict counts.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldJournalARecoveredPostcopyMigrationInOneJournalAtTheDestination() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        MemoryJournals journals = new MemoryJournals();
        try (DestinationServer d = dest(log, journals)) {
            RunReport r = RemoteMigrationTest.run(
                    scenario("legacy").withFailAt("1.0001x"), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            RunReport.Postcopy pc = r.postcopy();
            assertThat(pc.recoveries()).isEqualTo(1);
            d.awaitServed(2, Duration.ofSeconds(10));
            assertThat(journals.sessions)
                    .as("one journal for the migration and its recovery")
                    .hasSize(1);
            assertThat(journals.closed).containsExactly(true);
            Events ev = journals.events.getFirst();
            List<Events.E> faults = ev.of(EventType.FAULT);
            List<Events.E> zero = ev.of(EventType.FAULT_ZERO);
            assertThat(faults).as("the guest faulted on the destination").isNotEmpty();
            assertThat(faults.size() + zero.size()).isEqualTo(pc.faults());
            assertThat(zero).hasSize((int) pc.zeroPlaced());
            assertThat(ev.of(EventType.FAULT_SERVED)).hasSameSizeAs(faults);
            assertThat(log).anyMatch(l -> l.equals("journal: journal 0"));
        }
    }

    /**
     * The link fails after the switch-over (the first page of postcopy: {@code 1.0001x} of the guest's pages, the
     * bulk pass sends every page once): the destination's guest runs on, the source connects again with a HELLO
     * flagged RECOVER, the destination reports what it lacks, the rest comes, and the guest verifies. Over TCP and
     * in this process.
     */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRecoverAPostcopyLinkThatFailsAfterTheSwitchOver(boolean remote) throws Exception {
        KvmTests.assumeKvm();
        Scenario s = scenario("legacy").withFailAt("1.0001x");
        if (!remote) {
            RunReport r = KvmMigrationTest.run(s, EventSink.NONE, KvmRun.Hooks.NONE);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.postcopy().recoveries()).isEqualTo(1);
            return;
        }
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(s, d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).as("recovered within the attempt").hasSize(1);
            RunReport.Postcopy pc = r.postcopy();
            assertThat(pc.recoveries()).isEqualTo(1);
            List<DestinationServer.Served> served = d.awaitServed(2, Duration.ofSeconds(10));
            assertThat(served.get(0).outcome()).isIn("lost", "rejected");
            assertThat(served.get(0).guestStarted())
                    .as("the guest runs on, not finished")
                    .isFalse();
            assertThat(served.get(1).outcome()).isEqualTo("completed");
            assertThat(served.get(1).verdict().ok()).isTrue();
            assertThat(served.get(1).counters().guestsCreated())
                    .as("the recovery went on with the guest that runs there")
                    .isZero();
            assertThat(log).anyMatch(l -> l.contains("waits for the source to recover the link"));
            assertThat(log).anyMatch(l -> l.contains("(recovered postcopy): verify ok"));
        }
    }

    /**
     * A real cut in postcopy, not an injected one: a proxy closes both sockets as the last pass's ITERATION_END starts
     * (what was in flight is lost); the source recovers through the proxy, which passes later connections untouched.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRecoverAConnectionCutInPostcopy() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log);
                CuttingProxy proxy = new CuttingProxy(
                        d::address, CuttingProxy.Rule.cut(true, dev.ballast.core.wire.RecordType.ITERATION_END, 2))) {
            RunReport r =
                    RemoteMigrationTest.run(scenario("balloon"), proxy.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(proxy.triggered()).as("the cut happened in postcopy").isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.postcopy().recoveries()).isEqualTo(1);
            assertThat(proxy.connections()).isEqualTo(2);
            assertThat(log).anyMatch(l -> l.contains("(recovered postcopy): verify ok"));
        }
    }

    /**
     * The destination completes the migration (its guest verified) but its COMPLETE_ACK never reaches the source: a
     * proxy closes both sockets as the record starts on its way back. The source recovers, and the destination, which
     * remembers the verdict of the migration it completed, answers the HELLO flagged RECOVER with that verdict: the run
     * ends with it, after one recovery, and not as a guest split between the hosts (invariant 6).
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldEndWithTheDestinationsVerdictWhenItsCompleteAckIsLost() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log);
                CuttingProxy proxy = new CuttingProxy(
                        d::address, CuttingProxy.Rule.cut(false, dev.ballast.core.wire.RecordType.COMPLETE_ACK, 1))) {
            RunReport r =
                    RemoteMigrationTest.run(scenario("legacy"), proxy.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(proxy.triggered()).as("the COMPLETE_ACK was cut").isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(1);
            assertThat(r.postcopy().recoveries()).isEqualTo(1);
            assertThat(proxy.connections()).isEqualTo(2);
            // the recovery's connection may end before the first one (it takes no guest slot)
            List<DestinationServer.Served> served = d.awaitServed(2, Duration.ofSeconds(10));
            assertThat(served).allSatisfy(s -> {
                assertThat(s.outcome()).isEqualTo("completed");
                assertThat(s.verdict().ok()).isTrue();
                assertThat(s.verdict().checkedPages())
                        .as("the same verdict, sent again")
                        .isEqualTo(r.verify().checkedPages());
            });
            assertThat(served.stream().mapToLong(s -> s.counters().guestsCreated()))
                    .as("one guest, made by the first connection")
                    .containsExactlyInAnyOrder(1L, 0L);
            assertThat(log).anyMatch(l -> l.contains("completed here already: its verdict sent again"));
        }
    }

    /** Every event of a run, from any thread, in the order published. */
    static final class Events implements EventSink {
        record E(EventType type, long t, long a, long b, long c) {}

        final List<E> all = new ArrayList<>();

        @Override
        public synchronized void publish(EventType type, long timeNs, long a, long b, long c) {
            all.add(new E(type, timeNs, a, b, c));
        }

        synchronized List<E> of(EventType type) {
            return all.stream().filter(e -> e.type() == type).toList();
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldJournalEveryFaultOfTheDestinationWithItsPlacementAsTheSimulatorDoes() {
        KvmTests.assumeKvm();
        Events ev = new Events();
        RunReport r = KvmMigrationTest.run(scenario("balloon"), ev, KvmRun.Hooks.NONE);
        KvmMigrationTest.assertVerified(r);
        RunReport.Postcopy pc = r.postcopy();
        List<Events.E> faults = ev.of(EventType.FAULT);
        List<Events.E> served = ev.of(EventType.FAULT_SERVED);
        List<Events.E> zero = ev.of(EventType.FAULT_ZERO);
        // SWITCH_OVER is published when the destination has acknowledged it, its guest already running: a fault may
        // come before it, never before the pause (the event's time less the switch-over's duration)
        Events.E sw = ev.of(EventType.SWITCH_OVER).getFirst();
        long switchedAt = sw.t() - sw.b();
        long endAt = ev.of(EventType.END).getLast().t();
        assertThat(faults).as("the guest faulted on pages it lacked").isNotEmpty();
        // the report's figures are the journal's: pages asked for, and pages placed as zero here
        assertThat(pc.faults()).isEqualTo(faults.size() + zero.size());
        assertThat(pc.zeroPlaced()).isEqualTo(zero.size());
        // every page faulted on once, after the switch-over, and placed once before the end, the latency the
        // time between the two events
        Map<Long, Events.E> faultOf = new HashMap<>();
        for (Events.E f : faults) {
            assertThat(f.t()).isBetween(switchedAt, endAt);
            assertThat(faultOf.put(f.a() << 48 | f.b(), f))
                    .as("page faulted twice: %s", f)
                    .isNull();
        }
        assertThat(served).hasSameSizeAs(faults);
        long[] latencies = new long[served.size()];
        for (int i = 0; i < served.size(); i++) {
            Events.E s = served.get(i);
            Events.E f = faultOf.remove(s.a() << 48 | s.b());
            assertThat(f).as("placed without a fault: %s", s).isNotNull();
            assertThat(s.c()).isPositive().isEqualTo(s.t() - f.t());
            assertThat(s.t()).isLessThanOrEqualTo(endAt);
            assertThat(ev.all.indexOf(s)).isGreaterThan(ev.all.indexOf(f));
            latencies[i] = s.c();
        }
        // the same latencies as the report's
        Arrays.sort(latencies);
        assertThat(pc.faultLatencyMaxMs()).isEqualTo(latencies[latencies.length - 1] / 1e6);
        for (Events.E z : zero) {
            assertThat(z.t()).isBetween(switchedAt, endAt);
            assertThat(faultOf).doesNotContainKey(z.a() << 48 | z.b());
        }
    }

    /**
     * Invariant 8 on KVM: a destination that loses pages pre-copy sent (the source holds them as sent, so it
     * answers their requests with nothing) leaves its guest waiting on a fault; the migration still ends, and
     * the run is a violation of invariant 8 naming a page the guest faulted on and no one placed, with its
     * journal (FAULT, REQUEST_UNSERVED, no FAULT_SERVED), not a hung test.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldEndAsAViolationOfInvariant8WhenAFaultedPageIsNeverSent() {
        KvmTests.assumeKvm();
        Events ev = new Events();
        // every other page past the devices' pages: the guest's random writes after the switch-over meet one
        KvmRun.Hooks lose = new KvmRun.Hooks(i -> i >= 256 && i % 2 == 1, null);
        RunReport r = KvmMigrationTest.run(scenario("legacy"), ev, lose);
        assertThat(r.outcome()).isEqualTo("completed");
        assertThat(r.verify().ok()).isFalse();
        String violation = r.verify().violation();
        assertThat(violation).startsWith(Invariant.FAULTS_SERVED.violation("the guest faulted on page ram-low+0x"));
        Matcher m = Pattern.compile("page ram-low\\+0x([0-9a-f]+) ").matcher(violation);
        assertThat(m.find()).isTrue();
        long page = Long.parseLong(m.group(1), 16);
        assertThat(page % 2).isEqualTo(1);
        assertThat(ev.of(EventType.FAULT)).anyMatch(e -> e.a() == 0 && e.b() == page);
        assertThat(ev.of(EventType.REQUEST_UNSERVED))
                .anyMatch(e -> e.a() == 0 && e.b() <= page && page < e.b() + e.c());
        assertThat(ev.of(EventType.FAULT_SERVED)).noneMatch(e -> e.a() == 0 && e.b() == page);
    }

    /**
     * The same over TCP: a {@code ballast dest} holds the source to invariant 8 with the pace the source's
     * SWITCH_OVER states (version 6), and its verdict names the page, as the destination in process does.
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldEndAsAViolationOfInvariant8AtARemoteDestinationWhenAFaultedPageIsNeverSent() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log, null, i -> i >= 256 && i % 2 == 1)) {
            RunReport r =
                    RemoteMigrationTest.run(scenario("legacy"), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(r.outcome()).isEqualTo("completed");
            assertThat(r.verify().ok()).isFalse();
            String violation = r.verify().violation();
            assertThat(violation).contains(Invariant.FAULTS_SERVED.violation("the guest faulted on page ram-low+0x"));
            Matcher m = Pattern.compile("page ram-low\\+0x([0-9a-f]+) ").matcher(violation);
            assertThat(m.find()).isTrue();
            assertThat(Long.parseLong(m.group(1), 16) % 2).isEqualTo(1);
        }
    }

    /**
     * Postcopy recovery on KVM: the link fails after the switch-over (327 pages into postcopy: pass 1 sends all
     * 16,384 pages of the guest); the destination's guest runs on, the source connects again, the destination
     * says which pages it lacks and asks again for those its guest waits for, the source sends them, and the
     * guest verifies every page on the destination. Nothing goes twice (the reader refuses a page the destination
     * holds, the placer one it placed): the verdict would say so.
     */
    @ParameterizedTest
    @ValueSource(strings = {"legacy", "balloon"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRecoverALinkThatFailsAfterTheSwitchOverAndVerifyOnTheDestination(String policy) {
        KvmTests.assumeKvm();
        Events ev = new Events();
        RunReport r = KvmMigrationTest.run(scenario(policy).withFailAt("1.02x"), ev, KvmRun.Hooks.NONE);
        KvmMigrationTest.assertVerified(r);
        assertThat(r.attempts()).as("one attempt: postcopy does not start over").hasSize(1);
        RunReport.Postcopy pc = r.postcopy();
        assertThat(pc.recoveries()).isEqualTo(1);
        List<Events.E> failed = ev.of(EventType.LINK_FAILED);
        assertThat(failed).hasSize(1);
        assertThat(failed.getFirst().t())
                .isGreaterThan(ev.of(EventType.SWITCH_OVER).getFirst().t());
        assertThat(ev.of(EventType.POSTCOPY_RECOVER)).hasSize(1);
        // the guest ran on the destination across the failure: faults before and after it were served
        assertThat(ev.of(EventType.FAULT_SERVED)).hasSameSizeAs(ev.of(EventType.FAULT));
    }

    /**
     * The connection cut as SWITCH_OVER starts: the destination never resumes the guest, so it never acknowledges the
     * switch-over (SWITCH_OVER_ACK, protocol version 5), and the source fails the attempt as a pre-copy one: its guest
     * runs on with its dirty log, and the retry resumes and switches over. (Before the acknowledgement the source
     * took the guest for resumed there, its recoveries were refused, and the guest was lost.)
     */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRetryWhenTheSwitchOverIsNotAcknowledged() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log);
                CuttingProxy proxy = new CuttingProxy(
                        d::address, CuttingProxy.Rule.cut(true, dev.ballast.core.wire.RecordType.SWITCH_OVER, 1))) {
            RunReport r =
                    RemoteMigrationTest.run(scenario("legacy"), proxy.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            assertThat(proxy.triggered()).isTrue();
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(2);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            assertThat(r.postcopy()).as("the retry switched over").isNotNull();
            assertThat(r.postcopy().recoveries()).isZero();
        }
    }

    /** A link that fails before the switch-over fails pre-copy: the source runs on, and the retry resumes and switches over. */
    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void shouldRetryAPostcopyMigrationWhoseLinkFailsBeforeTheSwitchOver() throws Exception {
        KvmTests.assumeKvm();
        List<String> log = new CopyOnWriteArrayList<>();
        try (DestinationServer d = dest(log)) {
            RunReport r = RemoteMigrationTest.run(
                    scenario("balloon").withFailAt("30%"), d.address(), null, RemoteMigrationTest.TIMEOUT_NS);
            KvmMigrationTest.assertVerified(r);
            assertThat(r.attempts()).hasSize(2);
            assertThat(r.attempts().getFirst().outcome()).isEqualTo("failed");
            // the retry resumes: what is left after its pass may fit the downtime limit (no switch-over), or not
            if (r.postcopy() != null) assertThat(r.postcopy().recoveries()).isZero();
        }
    }

    @Test
    void shouldTakePostcopyWithARemoteDestinationAndAnInjectedFailure() {
        KvmBackend kvm = new KvmBackend();
        kvm.check(scenario("legacy"), BackendOptions.DEFAULTS);
        BackendOptions remote = new BackendOptions(
                false, new BackendOptions.Destination(new InetSocketAddress("127.0.0.1", 4444), null, 0));
        kvm.check(scenario("legacy"), remote);
        kvm.check(scenario("legacy").withFailAt("30%"), BackendOptions.DEFAULTS);
        kvm.check(scenario("legacy").withFailAt("1.05x"), remote);
    }
}
