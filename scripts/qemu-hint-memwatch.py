#!/usr/bin/env python3
"""What the real free page hint driver takes and leaves: a QEMU guest after a memory hog, migrated with
free-page-hint=on into a sink that discards the stream (`exec:cat > /dev/null`, at --bandwidth MB/s as
`ballast compare --bandwidth` sets QEMU's max-bandwidth), while the guest prints every 100 ms what its kernel has free
(`ballast.memwatch=100`: MemFree and /proc/buddyinfo's free blocks by order, per zone) and the script polls QEMU's
`remaining`. The driver (Linux's drivers/virtio/virtio_balloon.c) takes free 4 MiB blocks (order 10) until an
allocation fails and holds them until QEMU says done; so the smallest MemFree during the migration, and the blocks
left then, are what it could not take. It also prints the CPU each of QEMU's threads used during the migration
(/proc/PID/task/*/stat), to see what the hints cost the host (--hint off: the same migration without them).

    scripts/qemu-hint-memwatch.py [--mem 1048584K] [--workload memhog] [--bandwidth 25] [--hint on|off] [--json OUT]

Uses the kernel and the newest initramfs in ~/.cache/ballast/qemu (any `ballast run --backend qemu` builds them).
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time

from qemu_guest import guest_image, qmp, size_bytes


def threads_cpu(pid):
    """CPU seconds by thread name (user + system) of a live process."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0) + (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    return out


def process_cpu(pid):
    """CPU seconds of a live process, its ended threads included (/proc/PID/stat)."""
    stat = open(f"/proc/{pid}/stat").read()
    f = stat[stat.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mem", default="1048584K")
    ap.add_argument("--workload", default="memhog", choices=["memhog", "idle"])
    ap.add_argument("--bandwidth", type=int, default=25, help="QEMU's max-bandwidth, MB/s")
    ap.add_argument("--hint", default="on", choices=["on", "off"])
    ap.add_argument("--json")
    a = ap.parse_args()
    pages = size_bytes(a.mem) // 4096
    kernel, initrd = guest_image()
    work = tempfile.mkdtemp(prefix="ballast-memwatch-")
    serial, sock = f"{work}/serial.log", f"{work}/qmp.sock"
    # the QEMU backend's workload: 4 % stamped, rewritten at 1 MiB/s; memhog's hog 90 %
    args = f"ballast.workload={a.workload} ballast.seed=1 ballast.used={pages * 4 // 100} ballast.rate=1048576"
    if a.workload == "memhog":
        args += f" ballast.hog={pages * 90 // 100}"
    p = subprocess.Popen(["qemu-system-x86_64", "-name", "ballast,debug-threads=on", "-accel", "tcg", "-machine",
                          "q35", "-smp", "1", "-m", a.mem,
                          "-nodefaults", "-display", "none", "-kernel", kernel, "-initrd", initrd, "-append",
                          f"console=ttyS0 panic=-1 quiet {args} ballast.memwatch=100", "-serial", f"file:{serial}",
                          "-qmp", f"unix:{sock},server=on,wait=off", "-object", "iothread,id=iot0", "-device",
                          f"virtio-balloon-pci,id=balloon0,free-page-hint={a.hint},iothread=iot0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cmd = qmp(sock)
        deadline = time.time() + 600
        while time.time() < deadline:
            text = open(serial, "rb").read().decode("latin-1") if os.path.exists(serial) else ""
            if "BALLAST READY" in text:
                break
            time.sleep(0.2)
        else:
            sys.exit("the guest did not come up")
        time.sleep(1)  # a few MEM lines before the migration
        cmd("migrate-set-parameters", **{"max-bandwidth": a.bandwidth * 1000 * 1000, "downtime-limit": 2000})
        lines = open(serial, "rb").read().decode("latin-1").splitlines()
        t_ready = max(int(m.group(1)) for m in (re.match(r"BALLAST MEM t=(\d+)", l) for l in lines) if m)
        t_start = time.monotonic()
        cpu0, all0 = threads_cpu(p.pid), process_cpu(p.pid)
        cmd("migrate", uri="exec:cat > /dev/null")
        status = []
        while True:
            info = cmd("query-migrate")
            t = (time.monotonic() - t_start) * 1000
            status.append((t, info.get("ram", {}).get("remaining"), info.get("status")))
            if info.get("status") in ("completed", "failed", "cancelled"):
                cpu1, all1 = threads_cpu(p.pid), process_cpu(p.pid)
                final = info
                break
            time.sleep(0.1)
        time.sleep(0.5)
        lines = open(serial, "rb").read().decode("latin-1").splitlines()
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(work, ignore_errors=True)
    mem = []
    for l in lines:
        m = re.match(r"BALLAST MEM t=(\d+) free_kib=(\d+)(.*)", l)
        if m:
            zones = {z: [int(x) for x in c.split(",")] for z, c in re.findall(r"zone=(\w+):([\d,]+)", m.group(3))}
            mem.append((int(m.group(1)) - t_ready, int(m.group(2)), zones))
    cpu = {k: v - cpu0.get(k, 0) for k, v in cpu1.items() if v - cpu0.get(k, 0) >= 0.01}
    ended = all1 - all0 - sum(cpu.values())
    if ended >= 0.01:
        cpu["threads that ended (the migration thread)"] = ended
    ram = final.get("ram", {})
    print(f"QEMU: total {final.get('total-time')} ms, setup {final.get('setup-time')} ms, {ram.get('transferred', 0) / 1e6:.0f} MB,"
          f" {ram.get('normal')} normal and {ram.get('duplicate')} zero pages; its threads' CPU during the migration: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
          + f"; in all {sum(cpu.values()):.2f} s in {status[-1][0] / 1000:.2f} s")
    if a.hint == "off":
        return
    before = [x for x in mem if x[0] <= 0][-1]
    during = [x for x in mem if 0 < x[0] <= status[-1][0]]
    low = min(during, key=lambda x: x[1])
    blocks = lambda zones: {z: sum(c[o] << o for o in range(11)) * 4 for z, c in zones.items()}
    print(f"{a.mem} {a.workload}, free-page-hint={a.hint}, {a.bandwidth} MB/s: migration {status[-1][2]} in "
          f"{status[-1][0] / 1000:.1f} s")
    print(f"before: MemFree {before[1]} KiB; by zone, KiB free in blocks: {blocks(before[2])}")
    print(f"lowest while migrating (t={low[0] / 1000:.1f} s after migrate): MemFree {low[1]} KiB; by zone and order "
          f"(blocks of order 0..10): {low[2]}")
    print(f"  so the driver took {before[1] - low[1]} KiB and left {low[1]} KiB: "
          + ", ".join(f"{z} {sum(c[o] << o for o in range(10)) * 4} KiB in blocks under 4 MiB and "
                      f"{(c[10] << 10) * 4} KiB in 4 MiB blocks" for z, c in low[2].items()))
    for t, free, zones in during[::5]:
        q = min(status, key=lambda s: abs(s[0] - t))
        print(f"  t={t / 1000:5.1f} s MemFree {free:8d} KiB, QEMU remaining {q[1] or 0:11d} B")
    if a.json:
        json.dump(dict(before=before, during=during, status=status), open(a.json, "w"))


if __name__ == "__main__":
    main()
