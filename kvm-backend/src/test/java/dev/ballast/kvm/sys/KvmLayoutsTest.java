package dev.ballast.kvm.sys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.testing.CProgram;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java layouts, ioctl numbers and constants against gcc and {@code <linux/kvm.h>}. */
class KvmLayoutsTest {
    private static final Map<String, Long> C = new HashMap<>();

    @BeforeAll
    static void compileC(@TempDir Path dir) throws Exception {
        for (String line : CProgram.compileAndRun(CProgram.moduleDir().resolve("src/test/c/kvm_layouts.c"), dir)) {
            String[] f = line.split(" ");
            C.put(f[0] + " " + f[1], Long.parseLong(f[2]));
        }
    }

    /** Every named member of a layout, by its C path (anonymous unions are left out of the path). */
    private static void members(MemoryLayout layout, String prefix, long base, Map<String, Long> out) {
        if (!(layout instanceof GroupLayout group)) {
            return;
        }
        for (MemoryLayout m : group.memberLayouts()) {
            long offset = base
                    + (group instanceof StructLayout
                            ? group.byteOffset(MemoryLayout.PathElement.groupElement(
                                    group.memberLayouts().indexOf(m)))
                            : 0);
            if (m.name().isEmpty()) {
                continue;
            }
            if (m instanceof UnionLayout) {
                members(m, prefix, offset, out); // C: an anonymous union
                continue;
            }
            String path =
                    prefix.isEmpty() ? m.name().get() : prefix + "." + m.name().get();
            out.put(path, offset);
            members(m, path, offset, out);
        }
    }

    @Test
    void shouldMatchCSizesAndOffsetsOfEveryKvmStruct() {
        int compared = 0;
        for (StructLayout layout : KvmStructs.ALL) {
            String struct = layout.name().orElseThrow();
            if (!struct.equals("kvm_run")) {
                assertThat(layout.byteSize()).as("sizeof " + struct).isEqualTo(C.get("sizeof " + struct));
            }
            Map<String, Long> javaMembers = new TreeMap<>();
            members(layout, "", 0, javaMembers);
            for (Map.Entry<String, Long> m : javaMembers.entrySet()) {
                String key = "offsetof " + struct + "." + m.getKey();
                if (C.containsKey(key)) {
                    assertThat(m.getValue()).as(key).isEqualTo(C.get(key));
                    compared++;
                } else {
                    // nested members of repeated sub-structures are checked once (cs.*, gdt.*)
                    assertThat(m.getKey())
                            .as(key + " is not printed by kvm_layouts.c")
                            .contains(".");
                }
            }
        }
        assertThat(compared).isGreaterThan(100);
    }

    @Test
    void shouldMatchCSizesOfKvmRunMembers() {
        assertThat(KvmStructs.KVM_RUN_IO.byteSize()).isEqualTo(C.get("sizeof kvm_run.io"));
        assertThat(KvmStructs.KVM_RUN_FAIL_ENTRY.byteSize()).isEqualTo(C.get("sizeof kvm_run.fail_entry"));
        assertThat(KvmStructs.KVM_RUN_INTERNAL.byteSize()).isEqualTo(C.get("sizeof kvm_run.internal"));
        assertThat(256L).isEqualTo(C.get("sizeof kvm_run.padding"));
        assertThat(KvmStructs.INTERRUPT_BITMAP_WORDS * 8L).isEqualTo(C.get("sizeof kvm_sregs.interrupt_bitmap"));
    }

    @Test
    void shouldMatchEveryIoctlNumberWithItsCMacro() throws Exception {
        int compared = 0;
        for (Class<?> group : KvmIoctls.class.getDeclaredClasses()) {
            for (Field f : group.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == KvmIoctls.Request.class) {
                    KvmIoctls.Request r = (KvmIoctls.Request) f.get(null);
                    assertThat(r.name()).isEqualTo(f.getName());
                    assertThat(C).as("kvm_layouts.c prints " + r.name()).containsKey("ioctl " + r.name());
                    assertThat(r.number()).as(r.name()).isEqualTo(C.get("ioctl " + r.name()));
                    compared++;
                }
            }
        }
        assertThat(compared).isEqualTo(18); // KVM_CHECK_EXTENSION is on both the system and the VM fd
    }

    @Test
    void shouldMatchEveryKvmConstantWithItsCValue() throws Exception {
        int compared = 0;
        for (Field f : KvmConstants.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && Modifier.isPublic(f.getModifiers())) {
                assertThat(C).as("kvm_layouts.c prints " + f.getName()).containsKey("const " + f.getName());
                assertThat(((Number) f.get(null)).longValue()).as(f.getName()).isEqualTo(C.get("const " + f.getName()));
                compared++;
            }
        }
        assertThat(compared).isGreaterThan(15);
    }
}
