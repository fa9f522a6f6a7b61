package dev.ballast.qemu;

import dev.ballast.qemu.guest.GuestImage;
import dev.ballast.qemu.guest.QemuUnavailableException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU installation: the {@code qemu-system-x86_64} binary, its version, and the accelerator it can use here.
 * The accelerator is found <em>by trying</em>: QEMU boots the guest with {@code -accel kvm}, and KVM is chosen only if
 * the guest's {@code /init} prints {@code BALLAST READY} within {@link #KVM_PROBE_TIMEOUT}. Merely opening {@code /dev/kvm} is not
 * enough: a nested KVM such as {@code kvm_pvm} opens and creates VMs, but cannot boot a stock kernel (with
 * {@code -cpu host} QEMU aborts setting an MSR; with the default CPU the kernel's decompressor prints a few lines and
 * the guest hangs). On an ordinary KVM host the guest is ready within a few seconds. The result is kept per binary for
 * the life of the JVM, and on disk ({@code accel-<key>} in the guest cache), keyed by the binary (path, size, time),
 * the kernel and {@code /dev/kvm} (present, its time), so a new JVM does not pay the probe's 12 s again.
 */
public record Qemu(String binary, String version, Accelerator accelerator) {
    public static final Duration KVM_PROBE_TIMEOUT = Duration.ofSeconds(12);
    private static final ConcurrentHashMap<String, Accelerator> PROBED = new ConcurrentHashMap<>();

    /** {@code qemu-system-x86_64} from PATH (or {@code binary} if given), probed for its accelerator. */
    public static Qemu find(String binary, GuestImage image, Path workDir)
            throws QemuUnavailableException, IOException {
        String bin = binary != null ? binary : onPath("qemu-system-x86_64");
        String version = version(bin);
        Accelerator accel = PROBED.get(bin);
        if (accel == null) {
            Path cached = probeCacheFile(bin, image);
            accel = readCached(cached);
            if (accel == null) {
                accel = probe(bin, image, workDir);
                writeCached(cached, accel);
            }
            PROBED.put(bin, accel);
        }
        return new Qemu(bin, version, accel);
    }

    private static Path probeCacheFile(String bin, GuestImage image) throws IOException {
        Path b = Path.of(bin).toAbsolutePath();
        Path kvm = Path.of("/dev/kvm");
        String key = b + "|" + Files.size(b) + "|" + Files.getLastModifiedTime(b) + "|"
                + image.kernel().toAbsolutePath() + "|"
                + (Files.exists(kvm) ? Files.getLastModifiedTime(kvm).toString() + Files.isWritable(kvm) : "no kvm");
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return GuestImage.defaultCache()
                    .resolve("accel-" + java.util.HexFormat.of().formatHex(d, 0, 8));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Accelerator readCached(Path file) {
        try {
            String v = Files.readString(file, StandardCharsets.US_ASCII).strip();
            for (Accelerator a : Accelerator.values()) {
                if (a.qemuName().equals(v)) {
                    return a;
                }
            }
        } catch (IOException e) {
            // not probed yet
        }
        return null;
    }

    private static void writeCached(Path file, Accelerator a) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "accel-", ".tmp");
            Files.writeString(tmp, a.qemuName() + "\n", StandardCharsets.US_ASCII);
            Files.move(
                    tmp,
                    file,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // the next JVM probes again
        }
    }

    private static String onPath(String name) throws QemuUnavailableException {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        throw new QemuUnavailableException(name + " is not installed (Debian: apt-get install qemu-system-x86)");
    }

    private static String version(String bin) throws QemuUnavailableException {
        try {
            Process p = new ProcessBuilder(bin, "--version")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new QemuUnavailableException(bin + " --version failed: " + out.strip());
            }
            String first = out.lines().findFirst().orElse("");
            int i = first.indexOf("version ");
            return i < 0 ? first : first.substring(i + "version ".length()).split(" ")[0];
        } catch (IOException e) {
            throw new QemuUnavailableException(bin + " cannot be run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QemuUnavailableException("interrupted while asking " + bin + " for its version");
        }
    }

    /**
     * KVM if a guest booted with {@code -accel kvm} reaches Ballast's {@code BALLAST READY} line within the timeout;
     * TCG otherwise. Some output is not enough: under {@code kvm_pvm} the kernel's decompressor prints ("Physical
     * KASLR disabled") and then the guest hangs.
     */
    static Accelerator probe(String bin, GuestImage image, Path workDir) throws IOException {
        Path dev = Path.of("/dev/kvm");
        if (!Files.isReadable(dev) || !Files.isWritable(dev)) {
            return Accelerator.TCG;
        }
        MachineSpec spec = new MachineSpec(Accelerator.KVM, 128 << 10, false, image, "idle", "");
        Path dir = Files.createTempDirectory(workDir, "kvm-probe-");
        try (QemuMachine m = QemuMachine.start(bin, spec, dir, null)) {
            m.awaitSerialLine("BALLAST READY", KVM_PROBE_TIMEOUT);
            return Accelerator.KVM;
        } catch (IOException | InterruptedException | dev.ballast.qemu.qmp.QmpException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return Accelerator.TCG; // QEMU refused -accel kvm, or the guest did not come up
        }
    }
}
