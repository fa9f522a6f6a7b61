package dev.ballast.cli;

import dev.ballast.core.run.CostProfile;
import dev.ballast.core.run.SettingException;
import dev.ballast.core.run.Units;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.DoubleSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ballast calibrate}: measures this host's cost profile and writes it where {@code run} finds it. */
@Command(
        name = "calibrate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
            "Measures this host's cost profile for the simulator.",
            "",
            "Measures what a migration's per-page work costs on this host and writes the cost profile that the "
                    + "simulator's clock uses: zero check of an all-zero 4 KiB page (every byte read), data check of a "
                    + "non-zero page (stops at the first non-zero word), copy of a page into a send buffer, the bitmap "
                    + "walk per page, and loopback TCP throughput and latency. Pages live off-heap in a working set "
                    + "larger than the caches; each figure is the median of several passes. The page header (8 bytes) "
                    + "and the dirty-log sync cost are kept from the defaults. Takes a few seconds."
        })
final class CalibrateCommand implements Callable<Integer> {
    private static final long TCP_STREAM_MAX_NS = 1_500_000_000L;
    private static final int TCP_STREAMS = 3;
    private static final int BITMAP_ONE_IN = 1024;
    private static final long SEND_BUFFER_BYTES = 256 << 10;

    private final Context ctx;

    @Option(
            names = "--out",
            paramLabel = "FILE",
            description = "Where to write the profile. Default: $XDG_CONFIG_HOME/ballast/cost-profile.json, "
                    + "else ~/.config/ballast/cost-profile.json, where `ballast run` looks for it.")
    Path out;

    @Option(names = "--force", description = "Overwrite FILE even if it exists and is not a JSON file.")
    boolean force;

    @Option(
            names = "--working-set",
            paramLabel = "SIZE",
            defaultValue = "1G",
            converter = Converters.Size.class,
            description =
                    "Off-heap memory the page measurements walk; keep it well above the caches. Default: ${DEFAULT-VALUE}.")
    long workingSetBytes;

    @Option(
            names = "--passes",
            paramLabel = "N",
            defaultValue = "5",
            description =
                    "Measured passes per figure (after one warm-up pass); the median is kept. Default: ${DEFAULT-VALUE}.")
    int passes;

    @Option(
            names = "--tcp-bytes",
            paramLabel = "SIZE",
            defaultValue = "512M",
            converter = Converters.Size.class,
            hidden = true,
            description =
                    "Bytes per loopback stream (three streams; each stops after 1.5 s). Default: ${DEFAULT-VALUE}.")
    long tcpStreamBytes;

    @Option(
            names = "--tcp-round-trips",
            paramLabel = "N",
            defaultValue = "2000",
            hidden = true,
            description = "Ping-pong round trips for the latency. Default: ${DEFAULT-VALUE}.")
    int tcpRoundTrips;

    @Option(
            names = "--bitmap-pages",
            paramLabel = "N",
            defaultValue = "536870912",
            hidden = true,
            description =
                    "Bits of the bitmap walked (2^29: 64 MiB of words, a 2 TiB guest). Default: ${DEFAULT-VALUE}.")
    long bitmapPages;

    CalibrateCommand(Context ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        if (passes < 1 || passes > 100) throw new UsageException("--passes " + passes + ": must be in [1, 100]");
        if (workingSetBytes < 1 << 20 || workingSetBytes % Calibrator.PAGE != 0) {
            throw new SettingException(
                    "working-set", Units.formatBytes(workingSetBytes), "must be at least 1M and whole pages");
        }
        if (tcpStreamBytes < 1 << 20)
            throw new SettingException("tcp-bytes", Units.formatBytes(tcpStreamBytes), "must be at least 1M");
        if (tcpRoundTrips < 1) throw new UsageException("--tcp-round-trips " + tcpRoundTrips + ": must be at least 1");
        if (bitmapPages < 64 || bitmapPages > 1L << 34)
            throw new UsageException("--bitmap-pages " + bitmapPages + ": must be in [64, 2^34]");
        Path target = out != null ? out : CostProfiles.defaultPath(ctx.env());
        OutputFile.check(
                out != null ? "--out" : "the profile", target, OutputFile.Kind.JSON, force, java.util.List.of());
        PrintStream o = ctx.out();
        CostProfile d = CostProfile.defaults();
        o.printf(
                Locale.ROOT,
                "calibrating on %s (%d cpus): %s of off-heap pages, median of %d passes%n",
                hostName(),
                Runtime.getRuntime().availableProcessors(),
                Units.formatBytes(workingSetBytes),
                passes);
        o.flush();

        double zeroMismatch;
        double zeroLoop;
        double dataMismatch;
        double dataLoop;
        double copy;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pages = arena.allocate(workingSetBytes, Calibrator.PAGE); // zero-filled: every page touched
            zeroMismatch = median(() -> Calibrator.zeroCheckNsPerPage(pages, Calibrator.ZeroCheck.MISMATCH));
            zeroLoop = median(() -> Calibrator.zeroCheckNsPerPage(pages, Calibrator.ZeroCheck.LONG_LOOP));
            pages.fill((byte) 0x5a);
            dataMismatch = median(() -> Calibrator.dataCheckNsPerPage(pages, Calibrator.ZeroCheck.MISMATCH));
            dataLoop = median(() -> Calibrator.dataCheckNsPerPage(pages, Calibrator.ZeroCheck.LONG_LOOP));
            MemorySegment sendBuffer = arena.allocate(SEND_BUFFER_BYTES, Calibrator.PAGE);
            copy = median(() -> Calibrator.copyNsPerPage(pages, sendBuffer));
        }
        boolean mismatchWins = zeroMismatch <= zeroLoop;
        Calibrator.ZeroCheck how = mismatchWins ? Calibrator.ZeroCheck.MISMATCH : Calibrator.ZeroCheck.LONG_LOOP;
        double zero = mismatchWins ? zeroMismatch : zeroLoop;
        double data = mismatchWins ? dataMismatch : dataLoop;

        long[] bitmap = Calibrator.sparseBitmap(bitmapPages, BITMAP_ONE_IN, 1);
        double scan = median(() -> Calibrator.bitmapWalkNsPerPage(bitmap));

        double[] rates = new double[TCP_STREAMS];
        Calibrator.loopbackBitsPerSec(tcpStreamBytes / 4, TCP_STREAM_MAX_NS / 4); // warm-up
        for (int i = 0; i < TCP_STREAMS; i++)
            rates[i] = Calibrator.loopbackBitsPerSec(tcpStreamBytes, TCP_STREAM_MAX_NS);
        long linkBits = Math.round(Calibrator.median(rates));
        long latencyNs = Calibrator.loopbackOneWayLatencyNs(tcpRoundTrips);

        String source = "calibrated on " + hostName() + " at " + Instant.now().truncatedTo(ChronoUnit.SECONDS)
                + " (zero check: " + how.description + "; loopback TCP)";
        CostProfile profile = new CostProfile(
                round2(zero),
                round2(data),
                round2(copy),
                round4(scan),
                d.pageHeaderBytes(),
                latencyNs,
                linkBits,
                d.syncNsPerGiB(),
                source);

        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of(
                "zero check, all-zero 4 KiB page",
                fmt(zero) + " ns/page",
                fmt(d.zeroCheckNsPerPage()) + " ns/page",
                "via " + how.description + " (the other way: " + fmt(mismatchWins ? zeroLoop : zeroMismatch) + ")"));
        rows.add(List.of(
                "data check, non-zero page",
                fmt(data) + " ns/page",
                fmt(d.dataCheckNsPerPage()) + " ns/page",
                "same check, stops at the first non-zero word (the other way: "
                        + fmt(mismatchWins ? dataLoop : dataMismatch) + ")"));
        rows.add(List.of(
                "copy into a send buffer",
                fmt(copy) + " ns/page",
                fmt(d.copyNsPerPage()) + " ns/page",
                String.format(Locale.ROOT, "%.1f GB/s", Calibrator.PAGE / copy)));
        rows.add(List.of(
                "bitmap walk",
                fmt(scan) + " ns/page",
                fmt(d.scanNsPerPage()) + " ns/page",
                "a mostly-empty bitmap of " + Units.formatBytes(bitmapPages * Calibrator.PAGE) + " of pages, 1 bit in "
                        + BITMAP_ONE_IN + " set"));
        rows.add(List.of(
                "loopback TCP throughput",
                Runs.bits(linkBits),
                Runs.bits(d.linkBitsPerSec()),
                "median of " + TCP_STREAMS + " streams of up to " + Units.formatBytes(tcpStreamBytes)));
        rows.add(List.of(
                "loopback TCP latency",
                fmt(latencyNs / 1000.0) + " us",
                fmt(d.linkLatencyNs() / 1000.0) + " us",
                "one way: median ping-pong round trip / 2"));
        rows.add(List.of(
                "page header",
                d.pageHeaderBytes() + " bytes",
                d.pageHeaderBytes() + " bytes",
                "kept from the defaults (QEMU's)"));
        rows.add(List.of(
                "dirty-log sync",
                fmt(d.syncNsPerGiB() / 1e6) + " ms/GiB",
                fmt(d.syncNsPerGiB() / 1e6) + " ms/GiB",
                "kept from the defaults (KVM_GET_DIRTY_LOG, measured separately)"));
        o.print(ReportText.table(List.of("figure", "this host", "defaults", "how"), rows));

        try {
            CostProfiles.write(target, profile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
        o.println("wrote " + target
                + (out == null
                        ? " (`ballast run` and `compare` use it unless --profile says otherwise)"
                        : "; use it with `ballast run --profile " + target + "` (or `compare --profile ...`)"));
        o.println("note: the run's --bandwidth (default 10Gbit) still caps the link; loopback only sets the ceiling.");
        return ExitCodes.OK;
    }

    /** One warm-up pass, then {@code passes} measured ones; their median. */
    private double median(DoubleSupplier pass) {
        pass.getAsDouble();
        double[] v = new double[passes];
        for (int i = 0; i < passes; i++) v[i] = pass.getAsDouble();
        return Calibrator.median(v);
    }

    private static String hostName() {
        try {
            String h = Files.readString(Path.of("/etc/hostname")).trim();
            if (!h.isEmpty()) return h;
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        String h = System.getenv("HOSTNAME");
        return h == null || h.isBlank() ? "this host" : h;
    }

    private static String fmt(double v) {
        if (v >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 1) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static double round2(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static double round4(double v) {
        return Math.round(v * 10000) / 10000.0;
    }
}
