package dev.ballast.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.testing.CProgram;
import dev.ballast.kvm.testing.KvmTests;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@code src/test/c/kvm_probe.c}, which checks with raw KVM (no Java) the facts the backend
 * relies on: CPL 3 code runs natively and CPL 0 code does not; port I/O at CPL 3 works through
 * the TSS I/O bitmap; the dirty log catches the guest's writes.
 */
class KvmProbeTest {
    @Test
    void shouldConfirmTheFactsOfThisMachinesKvm(@TempDir Path dir) throws Exception {
        KvmTests.assumeKvm();
        Map<String, Double> facts = new HashMap<>();
        for (String line : CProgram.compileAndRun(CProgram.moduleDir().resolve("src/test/c/kvm_probe.c"), dir, "-O2")) {
            System.out.println("kvm_probe: " + line);
            String[] f = line.split(" ");
            facts.put(f[0], Double.parseDouble(f[1]));
        }
        assertThat(facts.get("iopl0_bitmap_out_exit")).isEqualTo(KvmConstants.KVM_EXIT_IO);
        // IOPL 3 alone: an I/O exit on ordinary KVM, a triple fault (shutdown) under kvm_pvm
        assertThat(facts.get("iopl3_no_bitmap_out_exit"))
                .isIn((double) KvmConstants.KVM_EXIT_IO, (double) KvmConstants.KVM_EXIT_SHUTDOWN);
        assertThat(facts.get("cpl3_ns_per_instruction")).isLessThan(5.0);
        assertThat(facts.get("dirty_pages_reported")).isBetween(16384.0, 16384.0 + 8); // + page-table A/D bits
    }
}
