package dev.ballast.qemu.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A bootable guest: a stock Debian kernel ({@code vmlinuz}) and an initramfs whose {@code /init} is Ballast's
 * {@code init.c}, with the virtio transport and balloon modules it loads. Both live in a cache directory
 * ({@code $XDG_CACHE_HOME/ballast/qemu}, else {@code ~/.cache/ballast/qemu}):
 * <pre>
 *   kernel/linux-image-6.1.0-57-amd64/{boot,lib/modules}/...   unpacked with dpkg-deb -x, never installed
 *   initrd-&lt;sha256 of init.c, module list and kernel&gt;.cpio     rebuilt only when one of them changes
 * </pre>
 * The kernel is fetched once, with {@code apt-get download} of the package that {@code apt-cache depends
 * linux-image-amd64} names; a cached kernel is used as it is, so later runs need no network.
 */
public record GuestImage(Path kernel, Path initrd, String kernelVersion) {
    /** The virtio transport and the balloon, in load order. */
    static final List<String> MODULES = List.of(
            "virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_balloon");

    private static final String META_PACKAGE = "linux-image-amd64";

    public static Path defaultCache() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("ballast").resolve("qemu");
    }

    /** The image in {@code cache}, fetching the kernel and building the initramfs if they are not there yet. */
    public static GuestImage prepare(Path cache) throws IOException, QemuUnavailableException {
        Files.createDirectories(cache);
        Path kernelDir = cachedKernel(cache).orElse(null);
        if (kernelDir == null) {
            kernelDir = fetchKernel(cache);
        }
        String version;
        Path modulesRoot = kernelDir.resolve("lib/modules");
        try (Stream<Path> s = Files.list(modulesRoot)) {
            version = s.map(p -> p.getFileName().toString())
                    .sorted()
                    .reduce((a, b) -> b)
                    .orElseThrow(() -> new QemuUnavailableException("no lib/modules/<version> in " + modulesRoot));
        }
        Path vmlinuz = kernelDir.resolve("boot/vmlinuz-" + version);
        if (!Files.isRegularFile(vmlinuz)) {
            throw new QemuUnavailableException("the cached kernel has no " + vmlinuz + "; delete " + kernelDir);
        }
        byte[] init = resource("init.c");
        Path initrd = cache.resolve("initrd-"
                + digest(
                        init,
                        String.join(",", MODULES).getBytes(StandardCharsets.UTF_8),
                        version.getBytes(StandardCharsets.UTF_8))
                + ".cpio");
        if (!Files.isRegularFile(initrd)) {
            buildInitrd(cache, init, modulesRoot.resolve(version), initrd);
        }
        return new GuestImage(vmlinuz, initrd, version);
    }

    private static Optional<Path> cachedKernel(Path cache) throws IOException {
        Path dir = cache.resolve("kernel");
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> Files.isDirectory(p.resolve("boot"))).sorted().reduce((a, b) -> b);
        }
    }

    private static Path fetchKernel(Path cache) throws IOException, QemuUnavailableException {
        String depends = run(cache, "apt-cache", "depends", META_PACKAGE);
        String pkg = depends.lines()
                .map(String::strip)
                .filter(l -> l.startsWith("Depends: linux-image-"))
                .map(l -> l.substring("Depends: ".length()))
                .findFirst()
                .orElseThrow(() -> new QemuUnavailableException("apt-cache depends " + META_PACKAGE
                        + " names no linux-image package (is this Debian, and apt-get update run?)"));
        Path tmp = Files.createTempDirectory(cache, "fetch-");
        try {
            run(tmp, "apt-get", "download", pkg);
            Path deb;
            try (Stream<Path> s = Files.list(tmp)) {
                deb = s.filter(p -> p.getFileName().toString().endsWith(".deb"))
                        .findFirst()
                        .orElseThrow(() -> new QemuUnavailableException("apt-get download " + pkg + " left no .deb"));
            }
            Path unpacked = tmp.resolve("x");
            run(tmp, "dpkg-deb", "-x", deb.toString(), unpacked.toString());
            Path target = cache.resolve("kernel").resolve(pkg);
            Files.createDirectories(target.getParent());
            Files.move(unpacked, target, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } finally {
            deleteTree(tmp);
        }
    }

    private static void buildInitrd(Path cache, byte[] initSource, Path modules, Path initrd)
            throws IOException, QemuUnavailableException {
        Path tmp = Files.createTempDirectory(cache, "initrd-");
        try {
            Path src = tmp.resolve("init.c");
            Files.write(src, initSource);
            Path bin = tmp.resolve("init");
            run(tmp, "gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", bin.toString(), src.toString());
            Path part = tmp.resolve("initrd.cpio");
            try (OutputStream out = Files.newOutputStream(part);
                    Cpio cpio = new Cpio(out)) {
                for (String d : List.of("dev", "proc", "sys", "ballast")) {
                    cpio.directory(d);
                }
                cpio.charDevice("dev/console", 0600, 5, 1);
                cpio.file("init", 0755, Files.readAllBytes(bin));
                cpio.file(
                        "ballast/modules",
                        0644,
                        (String.join("\n", MODULES) + "\n").getBytes(StandardCharsets.US_ASCII));
                for (String m : MODULES) {
                    cpio.file("ballast/" + m + ".ko", 0644, module(tmp, modules, m));
                }
            }
            Files.move(part, initrd, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            deleteTree(tmp);
        }
    }

    /** The module's ELF bytes: Debian ships some kernels' modules xz-compressed, decompressed here with xz. */
    private static byte[] module(Path tmp, Path modules, String name) throws IOException, QemuUnavailableException {
        Path found;
        try (Stream<Path> s = Files.walk(modules.resolve("kernel"))) {
            found = s.filter(p -> {
                        String f = p.getFileName().toString();
                        return f.equals(name + ".ko") || f.equals(name + ".ko.xz");
                    })
                    .findFirst()
                    .orElseThrow(() -> new QemuUnavailableException("kernel module " + name + " not found under "
                            + modules + " (is it built in? then drop it from the list)"));
        }
        if (found.getFileName().toString().endsWith(".xz")) {
            Path out = tmp.resolve(name + ".ko");
            run(tmp, "sh", "-c", "xz -dc \"$0\" > \"$1\"", found.toString(), out.toString());
            return Files.readAllBytes(out);
        }
        return Files.readAllBytes(found);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = GuestImage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " missing from the ballast-qemu jar");
            }
            return in.readAllBytes();
        }
    }

    private static String digest(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(p);
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs a tool; its output, or a one-line reason when it is missing or fails. */
    static String run(Path dir, String... command) throws IOException, QemuUnavailableException {
        Process p;
        try {
            p = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new QemuUnavailableException(command[0] + " is not installed (needed to build the QEMU guest)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new QemuUnavailableException(String.join(" ", command) + " did not finish in 10 minutes");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command));
        }
        String text = out.toString(StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            String last =
                    text.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("");
            throw new QemuUnavailableException(
                    String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + last.strip());
        }
        return text;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p :
                    s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
