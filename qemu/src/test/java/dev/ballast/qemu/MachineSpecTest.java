package dev.ballast.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ballast.qemu.guest.GuestImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MachineSpecTest {
    private static final GuestImage IMAGE = new GuestImage(Path.of("/k"), Path.of("/i"), "6.1");

    private static String mem(long kib) {
        List<String> a = new MachineSpec(Accelerator.TCG, kib, true, IMAGE, "idle", "")
                .arguments("qemu-system-x86_64", "/s.log", "/s.sock", "/q.sock", null);
        return a.get(a.indexOf("-m") + 1);
    }

    @Test
    void shouldGiveQemuTheRamSizeInMebibytesOrElseInKibibytes() {
        assertThat(mem(512 << 10)).isEqualTo("512M");
        assertThat(mem((1 << 20) + 8)).isEqualTo("1048584K");
        assertThatThrownBy(() -> mem((1 << 20) + 2)).hasMessageContaining("multiple of 4 KiB");
        assertThatThrownBy(() -> mem(32 << 10)).hasMessageContaining("at least 64 MiB");
    }
}
