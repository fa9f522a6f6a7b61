package dev.ballast.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.testing.CProgram;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Userfaultfd}'s layouts, ioctl numbers and constants against gcc and {@code <linux/userfaultfd.h>}. */
class UffdLayoutsTest {
    private static final Map<String, Long> C = new HashMap<>();

    @BeforeAll
    static void compileC(@TempDir Path dir) throws Exception {
        for (String line : CProgram.compileAndRun(CProgram.moduleDir().resolve("src/test/c/uffd_layouts.c"), dir)) {
            String[] f = line.split(" ");
            C.put(f[0] + " " + f[1], Long.parseLong(f[2]));
        }
    }

    private static void members(GroupLayout group, String prefix, long base, Map<String, Long> out) {
        for (int i = 0; i < group.memberLayouts().size(); i++) {
            MemoryLayout m = group.memberLayouts().get(i);
            if (m.name().isEmpty()) {
                continue; // padding
            }
            long offset = base + group.byteOffset(MemoryLayout.PathElement.groupElement(i));
            String path =
                    prefix.isEmpty() ? m.name().get() : prefix + "." + m.name().get();
            out.put(path, offset);
            if (m instanceof GroupLayout g) {
                members(g, path, offset, out);
            }
        }
    }

    @Test
    void shouldMatchCSizesAndOffsetsOfEveryUserfaultfdStruct() {
        int compared = 0;
        for (StructLayout layout : Userfaultfd.ALL) {
            String struct = layout.name().orElseThrow();
            assertThat(layout.byteSize()).as("sizeof " + struct).isEqualTo(C.get("sizeof " + struct));
            Map<String, Long> javaMembers = new HashMap<>();
            members(layout, "", 0, javaMembers);
            for (Map.Entry<String, Long> m : javaMembers.entrySet()) {
                String key = "offsetof " + struct + "." + m.getKey();
                if (m.getKey().equals("arg")
                        || m.getKey().equals("arg.pagefault")
                        || m.getKey().endsWith("feat")) {
                    continue; // unions of C; their members are compared
                }
                assertThat(C).as("uffd_layouts.c prints " + key).containsKey(key);
                assertThat(m.getValue()).as(key).isEqualTo(C.get(key));
                compared++;
            }
        }
        assertThat(compared).isEqualTo(27);
    }

    @Test
    void shouldMatchEveryIoctlNumberWithItsCMacro() {
        for (KvmIoctls.Request r : Userfaultfd.REQUESTS) {
            assertThat(C).as("uffd_layouts.c prints " + r.name()).containsKey("ioctl " + r.name());
            assertThat(r.number()).as(r.name()).isEqualTo(C.get("ioctl " + r.name()));
        }
        assertThat(Userfaultfd.REQUESTS).hasSize(7);
    }

    @Test
    void shouldMatchEveryConstantWithItsCValue() throws Exception {
        int compared = 0;
        for (Field f : Userfaultfd.class.getDeclaredFields()) {
            String name = f.getName();
            boolean constant = Modifier.isStatic(f.getModifiers())
                    && Modifier.isPublic(f.getModifiers())
                    && (f.getType() == long.class || f.getType() == int.class)
                    && (name.startsWith("UFFD") || name.startsWith("_UFFDIO") || name.startsWith("SYS_"));
            if (!constant) {
                continue;
            }
            String cName = name.equals("SYS_USERFAULTFD") ? "SYS_userfaultfd" : name;
            assertThat(C).as("uffd_layouts.c prints " + cName).containsKey("const " + cName);
            assertThat(((Number) f.get(null)).longValue()).as(name).isEqualTo(C.get("const " + cName));
            compared++;
        }
        assertThat(compared).isEqualTo(15);
    }
}
