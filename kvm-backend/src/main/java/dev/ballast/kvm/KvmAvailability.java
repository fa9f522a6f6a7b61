package dev.ballast.kvm;

import dev.ballast.kvm.sys.Errno;
import dev.ballast.kvm.sys.KvmConstants;
import dev.ballast.kvm.sys.NativeException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether the KVM backend can run here, and if not, one line that says why.
 *
 * @param usable whether {@code /dev/kvm} opens, speaks API 12, has the capabilities Ballast
 *               needs and can create a VM
 * @param reason why not (empty when usable)
 */
public record KvmAvailability(boolean usable, String reason) {

    private static KvmAvailability cached;

    /** The answer for this process (computed once). */
    public static synchronized KvmAvailability check() {
        if (cached == null) {
            cached = probe(Kvm.DEVICE);
        }
        return cached;
    }

    /** Throws one clear {@link IllegalStateException} where KVM cannot run. */
    public static void require() {
        KvmAvailability a = check();
        if (!a.usable()) {
            throw new IllegalStateException("the kvm backend cannot run here: " + a.reason());
        }
    }

    private static KvmAvailability no(String reason) {
        return new KvmAvailability(false, reason);
    }

    /** The answer for a given device node (tests point it elsewhere). */
    static KvmAvailability probe(String device) {
        if (!System.getProperty("os.name", "").startsWith("Linux") || !"amd64".equals(System.getProperty("os.arch"))) {
            return no("the KVM backend needs Linux on x86-64 (this is " + System.getProperty("os.name") + " on "
                    + System.getProperty("os.arch") + ")");
        }
        if (!Files.exists(Path.of(device))) {
            return no(device + " does not exist: no KVM on this machine (or it is not passed into this container)");
        }
        try (Kvm kvm = Kvm.open(device)) {
            for (int cap : new int[] {
                KvmConstants.KVM_CAP_USER_MEMORY, KvmConstants.KVM_CAP_IMMEDIATE_EXIT, KvmConstants.KVM_CAP_EXT_CPUID
            }) {
                if (kvm.checkExtension(cap) <= 0) {
                    return no(device + " lacks KVM capability " + cap + " that the KVM backend needs");
                }
            }
            try (KvmVm vm = kvm.createVm()) {
                if (vm.checkExtension(KvmConstants.KVM_CAP_NR_MEMSLOTS) < 4) {
                    return no(device + " offers fewer than 4 memory slots");
                }
            }
            return new KvmAvailability(true, "");
        } catch (NativeException e) {
            if (e.errno() == Errno.EACCES || e.errno() == Errno.EPERM) {
                return no(device + " is not accessible to this user (" + e.getMessage()
                        + "): run as root or join the kvm group");
            }
            return no(device + " is not usable: " + e.getMessage());
        } catch (IllegalCallerException e) {
            return no("native access is disabled: run Java with --enable-native-access=ALL-UNNAMED");
        } catch (RuntimeException | LinkageError e) {
            return no(device + " is not usable: " + e);
        }
    }
}
