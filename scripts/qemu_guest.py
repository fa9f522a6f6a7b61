"""What scripts/os-footprint.py and scripts/qemu-hint-memwatch.py share: a QMP client for a guest they start
themselves, sizes as QEMU's -m takes them, and the kernel and initramfs `ballast run --backend qemu` cached."""
import glob, json, os, socket, time

CACHE = os.path.expanduser("~/.cache/ballast/qemu")


def guest_image():
    """The cached kernel and the newest initramfs."""
    return glob.glob(CACHE + "/kernel/*/boot/vmlinuz-*")[0], max(glob.glob(CACHE + "/initrd-*.cpio"),
                                                                    key=os.path.getmtime)


def qmp(path, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    f = s.makefile("rw")
    json.loads(f.readline())

    def cmd(name, **args):
        f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")

    cmd("qmp_capabilities")
    return cmd


def size_bytes(mem):
    return int(mem[:-1]) << {"K": 10, "M": 20, "G": 30}[mem[-1]]
