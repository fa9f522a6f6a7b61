#!/usr/bin/env python3
"""One QEMU migration of Ballast's guest, journaled by `ballast tap`, with both memories compared page by page.

What it does: boots the destination paused after the migration (-S) and the source with Ballast's kernel and
initramfs (~/.cache/ballast/qemu), waits for the guest's BALLAST READY, migrates through `ballast tap --qmp ...
--journal DIR`, saves both guests' RAM with QMP's pmemsave once QEMU says completed (the source stays paused, the
destination has not run yet), lists every page whose content differs, then lets the destination run, writes CHECK
on its console and prints the guest's verdict or the kernel's crash line.

    scripts/hint-memdiff.py --mem 1024M --workload memhog --hint on --out /tmp/qj/a
    scripts/hint-memdiff.py --mem 1048584K ...   # 1 GiB + 8 KiB: pc.ram is not a multiple of 64 pages

    scripts/hint-memdiff.py --qemu ~/.cache/ballast/qemu-builds/10.0.2/usr/bin/qemu-system-x86_64 ...  # another QEMU

Needs qemu-system-x86_64 (or --qemu PATH) and the guest image a `ballast run --backend qemu` has cached. One migration at a time.
"""
import argparse, glob, json, os, socket, subprocess, sys, time

ROOT = os.environ.get("BALLAST_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/ballast/qemu")
CRASH = ("Kernel panic", "kernel BUG", "BUG: ", "list_del corruption", "list_add corruption",
         "general protection fault", "Oops")


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError(f"{name}: {r['error']}")


def lines(path):
    if not os.path.exists(path):
        return []
    data = open(path, "rb").read()
    end = max(data.rfind(b"\n"), data.rfind(b"\r"))
    return data[:end + 1].decode("latin-1").splitlines() if end >= 0 else []


def wait_line(path, prefix, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for l in lines(path):
            if l.startswith(prefix):
                return l
        for l in lines(path):
            if any(c in l for c in CRASH):
                return l
        time.sleep(0.2)
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def analyze(out):
    """Each differing page's sends from the run's journal, beside the dirty-log syncs and the pause."""
    ev = subprocess.run([os.path.join(ROOT, "ballast"), "inspect", os.path.join(out, "journal"), "--events",
                         "0:100000000"], capture_output=True, text=True).stdout.splitlines()
    diff = [int(l.split()[0], 16) for l in open(os.path.join(out, "differing-pages.txt"))]
    sends = {p: [] for p in diff}
    marks = []
    for l in ev:
        f = l.split()
        if len(f) < 3:
            continue
        t = f[1][2:-2]
        if f[2] == "QEMU_PAGE" and f[3] == "block=0":
            p = int(f[4].split("=")[1], 16)
            if p in sends:
                sends[p].append(f"{t} ms {f[5].split('=')[1]}")
        elif f[2] == "SYNC_BEGIN":
            marks.append(f"sync {f[3].split('=')[1]} seen by {t} ms")
        elif f[2] == "GUEST_RUN_STATE":
            marks.append(f"paused at {t} ms")
    print("journal: " + "; ".join(marks))
    for p in diff:
        print(f"  0x{p:x}: sent {len(sends[p])} time(s): " + ", ".join(sends[p]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mem", default="1024M", help="QEMU's -m (e.g. 1024M, 1048584K)")
    ap.add_argument("--pages", type=int, default=0, help="guest pages the workload sizes itself on (default: from --mem)")
    ap.add_argument("--workload", default="memhog")
    ap.add_argument("--hint", default="on")
    ap.add_argument("--qemu", default="qemu-system-x86_64", help="the QEMU binary (default: qemu-system-x86_64 on PATH)")
    ap.add_argument("--downtime-ms", type=int, default=2000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--analyze", action="store_true", help="only print the analysis of the run already in --out")
    a = ap.parse_args()
    if a.analyze:
        analyze(a.out)
        return 0
    os.makedirs(a.out, exist_ok=True)
    mem = a.mem
    size = int(mem[:-1]) << (20 if mem.endswith("M") else 10)
    pages = a.pages or size // 4096
    kernel = glob.glob(CACHE + "/kernel/*/boot/vmlinuz-*")[0]
    initrd = max(glob.glob(CACHE + "/initrd-*.cpio"), key=os.path.getmtime)
    wl = f"ballast.workload={a.workload} ballast.seed=1 ballast.used={pages * 4 // 100}"
    if a.workload == "memhog":
        wl += f" ballast.hog={pages * 90 // 100}"
    wl += " ballast.rate=1048576"

    def machine(name, extra):
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        for f in ("qmp.sock", "tap.sock", "serial.sock", "serial.log"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
        args = [a.qemu, "-accel", "tcg", "-machine", "q35", "-smp", "1", "-m", mem, "-nodefaults",
                "-display", "none", "-kernel", kernel, "-initrd", initrd, "-append",
                "console=ttyS0 panic=-1 quiet " + wl, "-chardev",
                f"socket,id=ser0,path={d}/serial.sock,server=on,wait=off,logfile={d}/serial.log",
                "-serial", "chardev:ser0", "-qmp", f"unix:{d}/qmp.sock,server=on,wait=off",
                "-qmp", f"unix:{d}/tap.sock,server=on,wait=off", "-object", "iothread,id=iot0", "-device",
                f"virtio-balloon-pci,id=balloon0,free-page-hint={a.hint},iothread=iot0"] + extra
        open(os.path.join(d, "command"), "w").write(" ".join(args) + "\n")
        p = subprocess.Popen(args, stdout=open(os.path.join(d, "qemu.log"), "w"), stderr=subprocess.STDOUT)
        return p, d, Qmp(os.path.join(d, "qmp.sock"))

    version = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"qemu: {version}", flush=True)
    dport, tport = free_port(), free_port()
    procs = []
    t0 = time.time()
    try:
        src, sdir, sq = machine("source", [])
        procs.append(src)
        ready = wait_line(os.path.join(sdir, "serial.log"), "BALLAST READY", 900)
        print(f"source: {ready} ({time.time() - t0:.0f} s)", flush=True)
        if not ready or not ready.startswith("BALLAST"):
            return 1
        dst, ddir, dq = machine("dest", ["-incoming", f"tcp:127.0.0.1:{dport}", "-S"])
        procs.append(dst)
        journal = os.path.join(a.out, "journal")
        tap = subprocess.Popen([os.path.join(ROOT, "ballast"), "tap", "--listen", f"127.0.0.1:{tport}", "--forward",
                                f"127.0.0.1:{dport}", "--qmp", os.path.join(sdir, "tap.sock"), "--journal", journal],
                               stdout=open(os.path.join(a.out, "tap.out"), "w"), stderr=subprocess.STDOUT)
        procs.append(tap)
        while "listening" not in open(os.path.join(a.out, "tap.out")).read():
            if tap.poll() is not None:
                print("tap exited:", open(os.path.join(a.out, "tap.out")).read())
                return 1
            time.sleep(0.2)
        sq.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40, "downtime-limit": a.downtime_ms})
        tm = time.time()
        sq.cmd("migrate", uri=f"tcp:127.0.0.1:{tport}")
        while True:
            info = sq.cmd("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.05)
        ram = info.get("ram", {})
        print(f"migration {info['status']} in {time.time() - tm:.1f} s: total-time {info.get('total-time')} ms, "
              f"downtime {info.get('downtime')} ms, normal {ram.get('normal')}, duplicate {ram.get('duplicate')}, "
              f"syncs {ram.get('dirty-sync-count')}", flush=True)
        tap.wait(120)
        print("tap:", open(os.path.join(a.out, "tap.out")).read().strip().replace("\n", " | "), flush=True)
        deadline = time.time() + 60
        while dq.cmd("query-status")["status"] != "paused" and time.time() < deadline:
            time.sleep(0.2)
        smem, dmem = os.path.join(a.out, "source.mem"), os.path.join(a.out, "dest.mem")
        low = min(size, 0x80000000)  # q35 maps up to 2 GiB below 4 GiB: all of a guest this small
        sq.cmd("pmemsave", val=0, size=low, filename=smem)
        dq.cmd("pmemsave", val=0, size=low, filename=dmem)
        diff = []
        with open(smem, "rb") as fs, open(dmem, "rb") as fd:
            pfn = 0
            while True:
                x, y = fs.read(1 << 20), fd.read(1 << 20)
                if not x:
                    break
                if x != y:
                    for i in range(0, len(x), 4096):
                        if x[i:i + 4096] != y[i:i + 4096]:
                            zs = x[i:i + 4096].count(0) == 4096
                            zd = y[i:i + 4096].count(0) == 4096
                            diff.append((pfn + i // 4096, zs, zd))
                pfn += len(x) // 4096
        os.remove(smem)
        os.remove(dmem)
        with open(os.path.join(a.out, "differing-pages.txt"), "w") as f:
            for p, zs, zd in diff:
                f.write(f"0x{p:x} source={'zero' if zs else 'data'} dest={'zero' if zd else 'data'}\n")
        print(f"pages that differ between the source's RAM and the destination's before it runs: {len(diff)} "
              f"(dest zero where source data: {sum(1 for _, zs, zd in diff if zd and not zs)}); "
              f"list in {a.out}/differing-pages.txt", flush=True)
        dq.cmd("cont")
        time.sleep(1)
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(os.path.join(ddir, "serial.sock"))
            c.sendall(b"CHECK\n")
            verdict = wait_line(os.path.join(ddir, "serial.log"), "BALLAST VERDICT", 300)
        print(f"destination: {verdict}", flush=True)
        analyze(a.out)
        json.dump({"qemu": version, "mem": mem, "hint": a.hint, "workload": a.workload, "query-migrate": info,
                   "differing": len(diff), "verdict": verdict}, open(os.path.join(a.out, "result.json"), "w"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
