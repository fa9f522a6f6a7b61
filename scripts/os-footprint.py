#!/usr/bin/env python3
"""The memory a booted idle guest's operating system holds: the non-zero pages of its RAM right after boot.

Boots Ballast's guest (kernel and initramfs as `ballast run --backend qemu` cached them in ~/.cache/ballast/qemu) with
the idle workload and no pages of its own (`ballast.used=0`), waits for the guest's BALLAST READY, pauses it, saves its
RAM with QMP's pmemsave and counts the pages that are not all zero. That count is what the simulated guest's `os=`
takes (as a size: pages x 4 KiB): the kernel's image, its `struct page` array, the unpacked initramfs and modules, page
tables and slab, as a migration finds them. Of those, the ones at the top of the RAM block (in QEMU's order of it:
below 4 GiB, then above), down to the first 4 MiB without data, are `os-top=`: Linux's memblock allocates top-down at
boot (the `struct page` array, page tables, per-CPU areas), so a migration's sweep ends in data. The JSON also has the
pages with data per 16 MiB (the kernel's image lies where KASLR put it).

The guest also lists the page frames its kernel has free (`ballast.pfnmap=1`: /proc/kpageflags and /proc/kpagecount),
so the pages split four ways: data in use, data free (what the boot left behind in free memory, such as the
compressed kernel the bootloader loaded), zero and free, and zero but not free (what the kernel holds and never writes,
such as swiotlb's bounce buffers). The first 16 MiB are ZONE_DMA, which Linux keeps for DMA: a process's allocations
do not take its free pages while other zones have some. So `os-freed=` is the free data pages above 16 MiB (the next
allocations overwrite them), and `os-reserved=` the zero pages a process cannot get: not free, or free below 16 MiB.
A guest's free memory (what a memory hog sizes itself on) is the free kinds; the pages a migration finds zero are the
zero kinds. The guest's console line BALLAST OS also gives vm.min_free_kbytes: `min-free=`, the free memory the hint
driver cannot take.

    scripts/os-footprint.py --mem 1048584K --out /tmp/os1g
    scripts/os-footprint.py --mem 4194312K --out /tmp/os4g

Needs qemu-system-x86_64 and the guest image a `ballast run --backend qemu` has cached.
"""
import argparse, json, os, re, subprocess, sys, time

from qemu_guest import guest_image, qmp, size_bytes
CRASH = ("Kernel panic", "kernel BUG", "BUG: ", "Oops")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mem", default="1048584K", help="QEMU's -m (e.g. 1048584K: 1 GiB + 8 KiB)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    size = size_bytes(a.mem)
    kernel, initrd = guest_image()
    serial, sock = os.path.join(a.out, "serial.log"), os.path.join(a.out, "qmp.sock")
    for f in (serial, sock):
        if os.path.exists(f):
            os.remove(f)
    args = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-smp", "1", "-m", a.mem, "-nodefaults",
            "-display", "none", "-kernel", kernel, "-initrd", initrd, "-append",
            "console=ttyS0 panic=-1 quiet ballast.workload=idle ballast.seed=1 ballast.used=0 ballast.rate=0 "
            "ballast.pfnmap=1",
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
        free_pfns = []  # (first pfn, pages) runs the guest's kernel has free
        end = None
        for l in open(serial, "rb").read().decode("latin-1").splitlines():
            if l.startswith("BALLAST FREE END"):
                end = l
            elif l.startswith("BALLAST FREE"):
                free_pfns += [tuple(int(x) for x in r.split("+")) for r in l.split()[2:]]
        if not end or "error" in end:
            print(f"the guest did not list its free pages: {end}", file=sys.stderr)
            return 1
        os_line = next((l for l in open(serial, "rb").read().decode("latin-1").splitlines()
                        if l.startswith("BALLAST OS")), "")
        # q35 maps RAM up to 2 GiB below 4 GiB when the guest has more than 2.75 GiB, else all of it; the rest at 4 GiB
        low = size if size < 0xB0000000 else 0x80000000
        parts = [(0, low)] + ([(1 << 32, size - low)] if size > low else [])
        data = zero = 0
        page = 0
        has_data = bytearray(size // 4096 + 1)
        regions = {}  # data pages per 16 MiB of the RAM block, by the region's first MiB
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
                            has_data[page] = 1
                            regions[page // 4096 * 16] = regions.get(page // 4096 * 16, 0) + 1
                        page += 1
            os.remove(mem)
        lo_pages = low // 4096
        is_free = bytearray(len(has_data))
        for first, n in free_pfns:
            for pfn in range(first, first + n):
                i = pfn if pfn < lo_pages else lo_pages + pfn - (1 << 20) if pfn >= 1 << 20 else -1
                if 0 <= i < page:
                    is_free[i] = 1
        dma = 4096  # ZONE_DMA: the first 16 MiB
        freed_dma = sum(1 for i in range(min(dma, page)) if has_data[i] and is_free[i])
        freed = sum(1 for i in range(dma, page) if has_data[i] and is_free[i])
        zero_dma = sum(1 for i in range(min(dma, page)) if not has_data[i] and is_free[i])
        reserved = sum(1 for i in range(page) if not has_data[i] and not is_free[i]) + zero_dma
        top = gap = 0
        for i in range(page - 1, -1, -1):  # from the top down to the first 4 MiB (1024 pages) without data
            if has_data[i]:
                top, gap = top + 1, 0
            else:
                gap += 1
                if gap == 1024:
                    break
        m = re.search(r"min_free_kib=(\d+)", os_line)
        min_free = int(m.group(1)) if m else 0
        result = {"mem": a.mem, "minFreeKiB": min_free, "pages": data + zero, "data": data, "zero": zero, "osKiB": data * 4,
                  "top": top, "osTopKiB": top * 4, "freed": freed, "osFreedKiB": freed * 4, "freedDma": freed_dma, "zeroFreeDma": zero_dma,
                  "reserved": reserved, "osReservedKiB": reserved * 4, "freePages": sum(is_free), "regions16MiB": regions,
                  "guest": os_line}
        json.dump(result, open(os.path.join(a.out, "result.json"), "w"))
        print(f"{a.mem}: {data} pages with data, {zero} zero pages of {data + zero} right after boot: os={data * 4}K"
              f", {top} of them at the top of RAM: os-top={top * 4}K, {freed} of them free above 16 MiB: "
              f"os-freed={freed * 4}K ({freed_dma} more below); {reserved} zero pages not free or below 16 MiB "
              f"({zero_dma} of them free there): os-reserved={reserved * 4}K; {sum(is_free)} pages free; "
              f"vm.min_free_kbytes: min-free={min_free}K ({os_line})")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
