package dev.ballast.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * {@code ballast report}: one self-contained HTML file for one run, or for several side by side on
 * shared axes with a summary table. Everything the page needs is inside it — the run data as JSON,
 * the page's own script and style, and Apache ECharts, read from its Maven jar — and its content
 * security policy forbids loading anything else, so it opens the same with no network.
 *
 * <pre>{@code
 * HtmlReport.write(List.of(RunInput.of(manifest, () -> journal.events())), Path.of("report.html"));
 * }</pre>
 */
public final class HtmlReport {
    private HtmlReport() {}

    /** The jar and the path inside it that hold the charting library. */
    private static final String ECHARTS_POM = "META-INF/maven/org.mvnpm/echarts/pom.properties";

    private static final String ECHARTS_DIST = "META-INF/resources/_static/echarts/%s/dist/echarts.min.js";
    private static final String ECHARTS_NOTICE = "META-INF/resources/_static/echarts/%s/NOTICE";

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads every run (once each, in order) and writes the report to {@code out}, replacing it. The
     * file appears whole or not at all.
     *
     * @throws ReportException a run's events are damaged, unreadable or hold no migration (one line, naming the run)
     * @throws IOException     the file cannot be written
     */
    public static void write(List<RunInput> runs, Path out) throws IOException {
        String html = render(read(runs));
        Path target = out.toAbsolutePath();
        Path dir = target.getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
        try {
            Files.writeString(tmp, html, StandardCharsets.UTF_8);
            try { // a report is for reading: not the temporary file's owner-only mode
                Files.setPosixFilePermissions(
                        tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep what it gives
            }
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads every run, giving runs that share a label a number so the report can tell them apart. */
    public static List<ReportData> read(List<RunInput> runs) {
        if (runs.isEmpty()) throw new ReportException("nothing to report: no runs given");
        Map<String, Integer> seen = new HashMap<>();
        for (RunInput r : runs) seen.merge(r.label(), 1, Integer::sum);
        Map<String, Integer> next = new HashMap<>();
        List<ReportData> out = new ArrayList<>();
        for (RunInput r : runs) {
            RunInput labelled = r;
            if (seen.get(r.label()) > 1) {
                labelled = new RunInput(
                        r.label() + " #" + next.merge(r.label(), 1, Integer::sum), r.manifest(), r.events());
            }
            out.add(ReportData.read(labelled));
        }
        return markIdentical(out);
    }

    /**
     * Marks each run whose figures (all but its label) equal an earlier run's as identical to that
     * run: the report then draws it so that it does not simply hide under the other.
     */
    static List<ReportData> markIdentical(List<ReportData> runs) {
        List<String> figures = new ArrayList<>();
        List<ReportData> out = new ArrayList<>();
        for (ReportData d : runs) {
            String f;
            try {
                f = JSON.writeValueAsString(d.labelled(""));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot write the report's data: " + e.getMessage(), e);
            }
            int same = figures.indexOf(f);
            figures.add(f);
            out.add(same < 0 ? d : d.identicalTo(runs.get(same).label()));
        }
        return out;
    }

    /** The whole page for these runs. */
    public static String render(List<ReportData> runs) {
        if (runs.isEmpty()) throw new IllegalArgumentException("no runs");
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("title", title(runs));
        data.put("kinds", ReportData.KINDS);
        data.put("chartLibrary", "Apache ECharts " + Library.VERSION);
        data.put("runs", runs);
        String json;
        try {
            json = JSON.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the report's data: " + e.getMessage(), e);
        }
        Map<String, String> parts = new HashMap<>();
        parts.put("TITLE", escapeHtml(title(runs)));
        parts.put("STYLE", Library.STYLE);
        parts.put("DATA", scriptSafeJson(json));
        parts.put("ECHARTS_VERSION", Library.VERSION);
        parts.put("ECHARTS_NOTICE", Library.NOTICE);
        parts.put("ECHARTS", Library.ECHARTS);
        parts.put("SCRIPT", Library.SCRIPT);
        return fill(Library.TEMPLATE, parts);
    }

    static String title(List<ReportData> runs) {
        ReportData.Settings s = runs.getFirst().settings();
        String what = s.workload() + ", " + gib(s.guestMemBytes());
        if (runs.size() == 1) return "Ballast report: " + runs.getFirst().label() + ", " + what;
        boolean same = runs.stream()
                .allMatch(r -> r.settings().workload().equals(s.workload())
                        && r.settings().guestMemBytes() == s.guestMemBytes());
        return "Ballast report: " + runs.size() + " runs" + (same ? ", " + what : "");
    }

    private static String gib(long bytes) {
        return dev.ballast.core.run.Units.formatBytes(bytes);
    }

    /** Replaces each {@code @NAME@} of the template (only the template's own text is scanned). */
    private static String fill(String template, Map<String, String> parts) {
        StringBuilder sb = new StringBuilder(template.length()
                + parts.values().stream().mapToInt(String::length).sum());
        int i = 0;
        while (true) {
            int at = template.indexOf('@', i);
            if (at < 0) break;
            int end = template.indexOf('@', at + 1);
            String name = end < 0 ? null : template.substring(at + 1, end);
            if (name != null && parts.containsKey(name)) {
                sb.append(template, i, at).append(parts.get(name));
                i = end + 1;
            } else {
                sb.append(template, i, at + 1);
                i = at + 1;
            }
        }
        return sb.append(template, i, template.length()).toString();
    }

    /** JSON that cannot end its script element: {@code <}, {@code >} and {@code &} become escapes (they only occur in strings). */
    static String scriptSafeJson(String json) {
        return json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026");
    }

    static String escapeHtml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** What every report inlines, read once. */
    private static final class Library {
        static final String VERSION;
        static final String ECHARTS;
        static final String NOTICE;
        static final String TEMPLATE = resource("report.html");
        static final String STYLE = resource("report.css");
        static final String SCRIPT = resource("report.js");

        static {
            ClassLoader cl = HtmlReport.class.getClassLoader();
            Properties p = new Properties();
            try (InputStream in = cl.getResourceAsStream(ECHARTS_POM)) {
                if (in == null)
                    throw new IllegalStateException("Apache ECharts is not on the class path (" + ECHARTS_POM + ")");
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            VERSION = p.getProperty("version");
            ECHARTS = text(cl, String.format(Locale.ROOT, ECHARTS_DIST, VERSION));
            NOTICE = text(cl, String.format(Locale.ROOT, ECHARTS_NOTICE, VERSION))
                    .strip()
                    .replace("*/", "* /");
            for (String[] part : new String[][] {{"Apache ECharts", ECHARTS}, {"report.js", SCRIPT}}) {
                if (part[1].toLowerCase(Locale.ROOT).contains("</script")) {
                    throw new IllegalStateException(part[0] + " contains '</script' and cannot be inlined");
                }
            }
        }

        private static String resource(String name) {
            return text(HtmlReport.class.getClassLoader(), "dev/ballast/report/" + name);
        }

        private static String text(ClassLoader cl, String path) {
            try (InputStream in = cl.getResourceAsStream(path)) {
                if (in == null) throw new IllegalStateException("missing resource " + path);
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
