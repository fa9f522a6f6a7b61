package dev.ballast.core.invariant;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code docs/invariants.md} and {@link Invariant} say the same: every number, name and constant, and no other. */
class InvariantDocTest {
    private static final Pattern ROW =
            Pattern.compile("^\\| (\\d+) \\| ([^|]+?) \\| `([A-Z_]+)` \\|", Pattern.MULTILINE);
    private static final Pattern SECTION = Pattern.compile("^## Invariant (\\d+) \\(([^)]*)\\)$", Pattern.MULTILINE);

    static String doc() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("docs/invariants.md");
            if (Files.isRegularFile(p)) return Files.readString(p);
        }
        throw new AssertionError(
                "docs/invariants.md not found above " + Path.of("").toAbsolutePath());
    }

    private static List<String> expected(boolean withConstant) {
        List<String> l = new ArrayList<>();
        for (Invariant i : Invariant.values())
            l.add(i.number() + " " + i.title() + (withConstant ? " " + i.name() : ""));
        return l;
    }

    @Test
    void shouldListEveryInvariantWithItsNumberNameAndConstantInTheTable() throws IOException {
        List<String> rows = new ArrayList<>();
        Matcher m = ROW.matcher(doc());
        while (m.find()) rows.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
        assertThat(rows).containsExactlyElementsOf(expected(true));
    }

    @Test
    void shouldExplainEveryInvariantInASectionOfItsOwn() throws IOException {
        List<String> sections = new ArrayList<>();
        Matcher m = SECTION.matcher(doc());
        while (m.find()) sections.add(m.group(1) + " " + m.group(2));
        assertThat(sections).containsExactlyElementsOf(expected(false));
    }
}
