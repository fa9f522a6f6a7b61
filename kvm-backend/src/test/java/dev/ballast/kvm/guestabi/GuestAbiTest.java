package dev.ballast.kvm.guestabi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.testing.CProgram;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every constant of {@code abi.h}, as gcc computes it, against {@link GuestAbi}, and the other way round. */
class GuestAbiTest {
    private static final Pattern DEFINE = Pattern.compile("^#define\\s+([A-Z_0-9]+)\\s+\\S.*$");

    @Test
    void shouldMatchEveryConstantOfTheCHeader(@TempDir Path dir) throws Exception {
        Path header = CProgram.moduleDir().resolve("src/main/c/guest/abi.h");
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(header)) {
            Matcher m = DEFINE.matcher(line);
            if (m.matches()) {
                names.add(m.group(1));
            }
        }
        StringBuilder c = new StringBuilder("#include <stdio.h>\n#include \"abi.h\"\nint main(void) {\n");
        for (String n : names) {
            c.append("    printf(\"%s %llu\\n\", \"")
                    .append(n)
                    .append("\", (unsigned long long)(")
                    .append(n)
                    .append("));\n");
        }
        c.append("    return 0;\n}\n");
        Path source = dir.resolve("abi_constants.c");
        Files.writeString(source, c);

        Set<String> seen = new HashSet<>();
        for (String line :
                CProgram.compileAndRun(source, dir, "-I", header.getParent().toString())) {
            String[] f = line.split(" ");
            Field field = GuestAbi.class.getField(f[0]);
            long java = ((Number) field.get(null)).longValue();
            long cValue = Long.parseUnsignedLong(f[1]);
            if (field.getType() == int.class) {
                cValue = (int) cValue;
            }
            assertThat(java).as(f[0]).isEqualTo(cValue);
            seen.add(f[0]);
        }
        assertThat(seen).hasSize(names.size()).hasSizeGreaterThan(60);
        for (Field f : GuestAbi.class.getDeclaredFields()) {
            if (Modifier.isPublic(f.getModifiers()) && Modifier.isStatic(f.getModifiers())) {
                assertThat(seen).as("abi.h defines " + f.getName()).contains(f.getName());
            }
        }
    }

    @Test
    void shouldLoadTheGuestImageTheBuildMade() {
        GuestImage image = GuestImage.load();
        assertThat(image.loadGpa()).isEqualTo(GuestAbi.SYS_GPA + GuestAbi.SYS_IMAGE_OFF);
        assertThat(image.entryGpa()).isBetween(image.loadGpa(), image.loadGpa() + image.bytes().length);
        assertThat(image.endGpa() - image.loadGpa()).isLessThanOrEqualTo(GuestAbi.SYS_IMAGE_MAX);
    }
}
