#!/usr/bin/env python3
"""The memory a booted idle guest's operating system holds: the non-zero pages of its RAM right after boot.

Boots Ballast's guest (kernel and initramfs as `ballast run --backend qemu` cached them in ~/.cache/ballast/qemu) with
the idle workload and no pages of its own (`ballast.used=0`), waits for the guest's BALLAST READY, pauses it, saves its
RAM with QMP's pmemsave and counts the pages that are not all zero. That count is what the simulated guest's `os=`
takes (as a size: pages x 4 KiB): the kernel's image, its `struct page` array, the unpacked initramfs and modules, page
tables and slab, as a migration finds them.

    scripts/os-footprint.py --mem 1048584K --out /tmp/os1g
    scripts/os-footprint.py --mem 4194312K --out /tmp/os4g

Needs qemu-system-x86_64 and the guest image a `ballast run --backend qemu` has cached.
"""
import argparse, glob, json, os, socket, subprocess, sys, time

CACHE = os.path.expanduser("~/.cache/ballast/qemu")
CRASH = ("Kernel panic", "kernel BUG", "BUG: ", "Oops")


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mem", default="1048584K", help="QEMU's -m (e.g. 1048584K: 1 GiB + 8 KiB)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    size = size_bytes(a.mem)
    kernel = glob.glob(CACHE + "/kernel/*/boot/vmlinuz-*")[0]
    initrd = max(glob.glob(CACHE + "/initrd-*.cpio"), key=os.path.getmtime)
    serial, sock = os.path.join(a.out, "serial.log"), os.path.join(a.out, "qmp.sock")
    for f in (serial, sock):
        if os.path.exists(f):
            os.remove(f)
    args = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-smp", "1", "-m", a.mem, "-nodefaults",
            "-display", "none", "-kernel", kernel, "-initrd", initrd, "-append",
            "console=ttyS0 panic=-1 quiet ballast.workload=idle ballast.seed=1 ballast.used=0 ballast.rate=0",
            "-serial", f"file:{serial}", "-qmp", f"unix:{sock},server=on,wait=off",
            "-object", "iothread,id=iot0", "-device", "virtio-balloon-pci,id=balloon0,free-page-hint=off,iothread=iot0"]
    p = subprocess.Popen(args, stdout=open(os.path.join(a.out, "qemu.log"), "w"), stderr=subprocess.STDOUT)
    try:
        cmd = qmp(sock)
        deadline, line = time.time() + 900, None
        while time.time() < deadline and line is None:
            text = open(serial, "rb").read().decode("latin-1") if os.path.exists(serial) else ""
            for l in text.splitlines():
                if l.startswith("BALLAST READY") or any(c in l for c in CRASH):
                    line = l
            time.sleep(0.2)
        if not line or not line.startswith("BALLAST READY"):
            print(f"the guest did not come up: {line}", file=sys.stderr)
            return 1
        cmd("stop")
        os_line = next((l for l in open(serial, "rb").read().decode("latin-1").splitlines()
                        if l.startswith("BALLAST OS")), "")
        # q35 maps RAM up to 2 GiB below 4 GiB when the guest has more than 2.75 GiB, else all of it; the rest at 4 GiB
        low = size if size < 0xB0000000 else 0x80000000
        parts = [(0, low)] + ([(1 << 32, size - low)] if size > low else [])
        data = zero = 0
        mem = os.path.join(a.out, "ram.bin")
        for base, n in parts:
            cmd("pmemsave", val=base, size=n, filename=mem)
            with open(mem, "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    for i in range(0, len(chunk), 4096):
                        if chunk[i:i + 4096].count(0) == 4096:
                            zero += 1
                        else:
                            data += 1
            os.remove(mem)
        result = {"mem": a.mem, "pages": data + zero, "data": data, "zero": zero, "osKiB": data * 4,
                  "guest": os_line}
        json.dump(result, open(os.path.join(a.out, "result.json"), "w"))
        print(f"{a.mem}: {data} pages with data, {zero} zero pages of {data + zero} right after boot: os={data * 4}K"
              f" ({os_line})")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
