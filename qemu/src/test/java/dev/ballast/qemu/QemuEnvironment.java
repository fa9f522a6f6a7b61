package dev.ballast.qemu;

import dev.ballast.qemu.guest.GuestImage;
import dev.ballast.qemu.guest.QemuUnavailableException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * QEMU and the guest image for tests, prepared once per JVM, or the one-line reason they are missing (tests are
 * then skipped with it). The first run fetches the kernel into the user's cache; later runs need no network.
 */
final class QemuEnvironment {
    private static volatile Object state; // QemuEnvironment or String (the reason)

    final Qemu qemu;
    final GuestImage image;
    final Path work;
    final long prepareMs;

    private QemuEnvironment(Qemu qemu, GuestImage image, Path work, long prepareMs) {
        this.qemu = qemu;
        this.image = image;
        this.work = work;
        this.prepareMs = prepareMs;
    }

    /** The environment, or null with {@link #reason()} saying why not. */
    static synchronized QemuEnvironment get() {
        if (state == null) {
            long t0 = System.nanoTime();
            try {
                Path work = Files.createTempDirectory("ballast-qemu-test-");
                // saved streams are ~90 MB each: gone when the test JVM ends (QEMU processes are closed by then)
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(work)));
                GuestImage image = GuestImage.prepare(GuestImage.defaultCache());
                Qemu qemu = Qemu.find(null, image, work);
                state = new QemuEnvironment(qemu, image, work, (System.nanoTime() - t0) / 1_000_000);
                System.out.printf(
                        "qemu: %s %s, accel %s, kernel %s; image and probe took %d ms%n",
                        qemu.binary(),
                        qemu.version(),
                        qemu.accelerator(),
                        image.kernelVersion(),
                        (System.nanoTime() - t0) / 1_000_000);
            } catch (QemuUnavailableException | IOException e) {
                state = e.getMessage();
            }
        }
        return state instanceof QemuEnvironment e ? e : null;
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("qemu tests: could not delete " + root + ": " + e.getMessage());
        }
    }

    static String reason() {
        return state instanceof String s ? s : "";
    }
}
