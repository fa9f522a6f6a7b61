package dev.ballast.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.core.run.Scenario;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * Opens reports in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}) and
 * checks what a user would see: no console error, every chart drawn (its canvas has size and
 * ink), and a screenshot under {@code target/} to look at. Skipped, saying why, where Chromium or
 * its driver is missing.
 */
class HtmlReportBrowserTest {
    private static final long G = 1L << 30;
    private static final Path OUT = Path.of("target", "report");
    private static final int WIDTH = 1400;

    /** Selenium looks for a DevTools binding of this Chromium's version and warns when it has none; WebDriver needs none. */
    private static final java.util.logging.Logger SELENIUM = java.util.logging.Logger.getLogger("org.openqa.selenium");

    private static ChromeDriver browser;
    private static Path profile;

    @BeforeAll
    static void openBrowser() throws IOException {
        Path chromium = find("BALLAST_CHROMIUM", "chromium", "chromium-browser", "google-chrome");
        Path driver = find("BALLAST_CHROMEDRIVER", "chromedriver");
        if (chromium == null || driver == null) {
            String why = "report browser test skipped: " + (chromium == null ? "no chromium" : "no chromedriver")
                    + " on PATH (Debian: apt-get install chromium chromium-driver)";
            System.out.println(why);
            Assumptions.abort(why);
        }
        SELENIUM.setLevel(Level.SEVERE);
        profile = Files.createTempDirectory("ballast-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments(
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--user-data-dir=" + profile,
                "--window-size=" + WIDTH + ",1000");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(driver.toFile())
                .build();
        browser = new ChromeDriver(service, options);
        Files.createDirectories(OUT);
    }

    @AfterAll
    static void closeBrowser() throws IOException {
        if (browser != null) browser.quit();
        if (profile != null) {
            try (Stream<Path> files = Files.walk(profile)) {
                files.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    @Test
    void shouldDrawEveryChartOfOneRun() throws Exception {
        Recorded run = Recorded.run(Scenario.sim(8 * G, "compile", "hint", 1));
        Path html = OUT.resolve("report-run.html");
        HtmlReport.write(List.of(run.input()), html);
        // overview, passes, pages to send, throughput, hints and balloon, one memory map
        check(html, 6, OUT.resolve("report-run.png"));
    }

    @Test
    void shouldDrawThePostcopyFaultsOfAPostcopyRun() throws Exception {
        Recorded run = Recorded.run(Scenario.sim(256L << 20, "random-write,rate=4GiB/s", "legacy", 3)
                .withLimits(10_000_000_000L, 5_000_000L, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse("2")));
        Path html = OUT.resolve("report-postcopy.html");
        HtmlReport.write(List.of(run.input()), html);
        // overview, passes, pages to send, throughput, postcopy faults, one memory map
        check(html, 6, OUT.resolve("report-postcopy.png"));
        assertThat(browser.findElement(By.cssSelector("#faults h2")).getText()).isEqualTo("Postcopy faults over time");
    }

    /** A destination's journal ({@code ballast dest --journal}): its faults alone, no migration of the engine's. */
    @Test
    void shouldDrawTheFaultsOfADestinationsJournal() throws Exception {
        Recorded run = Recorded.run(Scenario.sim(256L << 20, "random-write,rate=4GiB/s", "legacy", 3)
                .withLimits(10_000_000_000L, 5_000_000L, 30, 0)
                .withPostcopy(dev.ballast.core.engine.Postcopy.parse("2")));
        EventRecording faults = new EventRecording();
        var all = run.events.streams().get();
        var e = new dev.ballast.replay.Event();
        while (all.next(e)) {
            switch (e.type) {
                case FAULT, FAULT_SERVED, FAULT_ZERO -> faults.publish(e.type, e.timeNs, e.a, e.b, e.c);
                default -> {}
            }
        }
        assertThat(faults.events()).isPositive();
        Path html = OUT.resolve("report-destination.html");
        HtmlReport.write(List.of(RunInput.of(run.manifest, faults.streams())), html);
        // overview, passes, pages to send, throughput (empty axes), postcopy faults, one memory map
        check(html, 6, OUT.resolve("report-destination.png"));
        assertThat(browser.findElement(By.cssSelector("#faults h2")).getText()).isEqualTo("Postcopy faults over time");
    }

    @Test
    void shouldDrawAComparisonOfFivePolicies() throws Exception {
        List<RunInput> runs = new ArrayList<>();
        for (String policy : List.of("legacy", "balloon", "hint", "bitmap", "hint+balloon")) {
            runs.add(Recorded.run(Scenario.sim(8 * G, "memhog", policy, 1)).input());
        }
        Path html = OUT.resolve("report-compare.html");
        HtmlReport.write(runs, html);
        // overview, passes, pages to send, throughput, hints and balloon, five memory maps
        check(html, 10, OUT.resolve("report-compare.png"));
    }

    @Test
    void shouldShowTheHopsAttemptsAndWarningsOfAChainWithRetries() throws Exception {
        Recorded run = Recorded.run(Scenario.sim(512L << 20, "memhog", "legacy", 1)
                .withFailAt("40%")
                .withChain(3));
        Path html = OUT.resolve("report-chain.html");
        HtmlReport.write(List.of(run.input()), html);
        // overview, passes, pages to send, throughput, one memory map (no hints, no balloon)
        check(html, 5, OUT.resolve("report-chain.png"));
        assertThat(browser.findElements(By.cssSelector(".warnings li")))
                .hasSize(3)
                .allSatisfy(li -> assertThat(li.getText()).contains("failed").contains("link: injected"));
        assertThat(browser.findElements(By.cssSelector("#hops tbody tr"))).hasSize(3);
        assertThat(browser.findElement(By.cssSelector(".cards")).getText())
                .contains("3 hops, 6 attempts")
                .contains("ITERATIONS");
    }

    @Test
    void shouldTellIdenticalRunsApart() throws Exception {
        List<RunInput> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++)
            runs.add(Recorded.run(Scenario.sim(256L << 20, "idle", "hint", 1)).input());
        Path html = OUT.resolve("report-identical.html");
        HtmlReport.write(runs, html);
        // overview, passes, pages to send, throughput, hints, two memory maps
        check(html, 7, OUT.resolve("report-identical.png"));
        assertThat(browser.findElement(By.id("summary")).getText()).contains("hint #2 (identical to hint #1)");
    }

    @Test
    void shouldOpenTheReportOfATebibyteGuestQuickly() throws Exception {
        Recorded run = Recorded.run(Scenario.sim(1024 * G, "balloon:12.5", "balloon", 1));
        Path html = OUT.resolve("report-1tib.html");
        long t0 = System.nanoTime();
        HtmlReport.write(List.of(run.input()), html);
        long t1 = System.nanoTime();
        double opened = check(html, 6, OUT.resolve("report-1tib.png"));
        System.out.printf(
                java.util.Locale.ROOT,
                "1 TiB guest, %,d events: report written in %.2f s, drawn in %.2f s, %,d bytes%n",
                run.count(),
                (t1 - t0) / 1e9,
                opened,
                Files.size(html));
        assertThat(opened).as("seconds until every chart has drawn").isLessThan(10);
    }

    /** Opens the report, checks it, saves screenshots; returns the seconds until every chart had drawn. */
    private static double check(Path html, int charts, Path screenshot) throws Exception {
        browser.manage().window().setSize(new org.openqa.selenium.Dimension(WIDTH, 1000));
        long start = System.nanoTime();
        browser.get(html.toAbsolutePath().toUri().toString());
        long deadline = start + 30_000_000_000L;
        Map<?, ?> status;
        while (true) {
            status = (Map<?, ?>) browser.executeScript("return window.ballastReport || null;");
            if (status != null && Boolean.TRUE.equals(status.get("ready"))) break;
            if (System.nanoTime() > deadline) break;
            Thread.sleep(20);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<String> errors = new ArrayList<>();
        for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue()) errors.add(e.getMessage());
        }
        assertThat(errors).as("browser console errors").isEmpty();
        assertThat(status).as("window.ballastReport").isNotNull();
        assertThat((List<?>) status.get("errors")).as("script errors").isEmpty();
        assertThat(status.get("ready"))
                .as("every chart finished drawing: " + status)
                .isEqualTo(true);
        assertThat(((Number) status.get("charts")).intValue()).isEqualTo(charts);

        // every chart container holds a canvas with a size and something drawn on it
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> drawn = (List<Map<String, Object>>) browser.executeScript("""
                return Array.from(document.querySelectorAll('.chart')).map(function (div) {
                  var c = div.querySelector('canvas');
                  if (!c) return {width: 0, height: 0, ink: 0};
                  var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, ink = 0;
                  for (var i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
                  return {width: c.width, height: c.height, ink: ink};
                });""");
        assertThat(drawn).hasSize(charts);
        for (Map<String, Object> c : drawn) {
            assertThat(((Number) c.get("width")).intValue()).as("canvas width").isPositive();
            assertThat(((Number) c.get("height")).intValue())
                    .as("canvas height")
                    .isPositive();
            assertThat(((Number) c.get("ink")).longValue())
                    .as("pixels drawn " + c)
                    .isGreaterThan(1000);
        }

        // the whole page in one picture
        long height = ((Number) browser.executeScript("return document.documentElement.scrollHeight;")).longValue();
        browser.manage().window().setSize(new org.openqa.selenium.Dimension(WIDTH, (int)
                Math.min(height + 20, 16_000)));
        Thread.sleep(300);
        Files.write(screenshot, browser.getScreenshotAs(OutputType.BYTES));
        System.out.println("report screenshot: " + screenshot.toAbsolutePath());
        // and each section on its own, at full size, to look at closely
        String stem = screenshot.getFileName().toString().replaceFirst("\\.png$", "");
        for (WebElement section : browser.findElements(By.cssSelector("section[id]"))) {
            Path part = screenshot.resolveSibling(stem + "-" + section.getAttribute("id") + ".png");
            Files.write(part, section.getScreenshotAs(OutputType.BYTES));
        }
        return seconds;
    }

    /** An executable named by an environment variable, or the first of these names on PATH. */
    private static Path find(String env, String... names) {
        String given = System.getenv(env);
        if (given != null && !given.isBlank()) {
            Path p = Path.of(given);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String name : names) {
            for (String dir : path.split(File.pathSeparator)) {
                if (dir.isEmpty()) continue;
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }
}
