#!/usr/bin/env python3
"""The tap's overhead on a real QEMU migration: QEMU source -> destination directly, against the same through
`ballast tap` (validating, forwarding and journaling every record, with --qmp), in interleaved pairs whose order
alternates. One source guest boots once and is migrated again and again (`cont` after each migration resumes it);
every migration gets a fresh destination, which must come up `running`. Prints each migration's QEMU total time
(query-migrate's total-time) and wall time from `migrate` to `completed`, then the medians, the spread, and the
tap's overhead as the median of the per-pair ratios.

  scripts/tap-overhead.py [--pairs 5] [--mem 512] [--workload memhog:300] [--hint off] [--qemu qemu-system-x86_64]

The kernel and initrd are the ones the qemu module's tests cache in ~/.cache/ballast/qemu (run them once, or pass
--kernel and --initrd). Uses TCG unless --accel kvm is given (this machine's nested KVM cannot boot the guest).
"""
import argparse, glob, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile("rw")
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        r = self._read()
        if "error" in r:
            raise RuntimeError(f"{name}: {r['error']}")
        return r["return"]

    def close(self):
        self.s.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_args(a, work, name, qmps, incoming=None):
    cmd = [a.qemu, "-accel", a.accel, "-machine", "q35", "-smp", "1", "-m", f"{a.mem}M", "-nodefaults",
           "-display", "none", "-kernel", a.kernel, "-initrd", a.initrd,
           "-append", f"console=ttyS0 panic=-1 quiet ballast.workload={a.workload}",
           "-serial", f"file:{work}/{name}.serial", "-object", "iothread,id=iot0",
           "-device", f"virtio-balloon-pci,id=balloon0,free-page-hint={a.hint},iothread=iot0"]
    for q in qmps:
        cmd += ["-qmp", f"unix:{q},server=on,wait=off"]
    if incoming:
        cmd += ["-incoming", incoming]
    return cmd


def wait_serial(path, text, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{text!r} not in {path} after {timeout} s")


def migrate(src, uri, timeout=300):
    t0 = time.monotonic()
    src.cmd("migrate", uri=uri)
    while True:
        info = src.cmd("query-migrate")
        st = info.get("status")
        if st == "completed":
            return info, (time.monotonic() - t0) * 1000
        if st in ("failed", "cancelled"):
            raise RuntimeError(f"migration {st}: {info.get('error-desc')}")
        if time.monotonic() - t0 > timeout:
            raise TimeoutError("migration did not complete")
        time.sleep(0.01)


def one(a, work, src, src_tap_qmp, i, through_tap):
    dport = free_port()
    dqmp = f"{work}/dest{i}.qmp"
    dest = subprocess.Popen(qemu_args(a, work, f"dest{i}", [dqmp], f"tcp:127.0.0.1:{dport}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tap = None
    try:
        dq = Qmp(dqmp)
        uri = f"tcp:127.0.0.1:{dport}"
        if through_tap:
            tport = free_port()
            tap = subprocess.Popen([os.path.join(ROOT, "ballast"), "tap", "--listen", f"127.0.0.1:{tport}",
                                    "--forward", f"127.0.0.1:{dport}", "--qmp", src_tap_qmp,
                                    "--journal", f"{work}/journal{i}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = tap.stdout.readline()
            if not line.startswith("tap: listening"):
                raise RuntimeError("tap did not start: " + line + tap.stderr.read())
            uri = f"tcp:127.0.0.1:{tport}"
        info, wall = migrate(src, uri)
        if tap:
            out, err = tap.communicate(timeout=120)
            if tap.returncode != 0:
                raise RuntimeError(f"tap exited {tap.returncode}: {err.strip()}")
        deadline = time.time() + 60
        status = dq.cmd("query-status")["status"]
        while status != "running" and time.time() < deadline:
            time.sleep(0.05)
            status = dq.cmd("query-status")["status"]
        if status != "running":
            raise RuntimeError(f"destination is {status}, not running")
        ram = info["ram"]
        row = dict(tap=through_tap, total_ms=info["total-time"], downtime_ms=info.get("downtime", 0), wall_ms=wall,
                   normal=ram["normal"], duplicate=ram["duplicate"], syncs=ram.get("dirty-sync-count", 0))
        try:
            dq.cmd("quit")
        except Exception:
            pass
        dq.close()
        src.cmd("cont")  # the source runs again: the next migration starts from a running guest
        return row
    finally:
        for p in (tap, dest):
            if p and p.poll() is None:
                p.kill()
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--mem", type=int, default=512)
    ap.add_argument("--workload", default="memhog:300")
    ap.add_argument("--hint", default="off", choices=["on", "off"])
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    cache = os.path.expanduser(os.environ.get("XDG_CACHE_HOME", "~/.cache")) + "/ballast/qemu"
    kernels = sorted(glob.glob(cache + "/kernel/*/boot/vmlinuz-*"))
    initrds = sorted(glob.glob(cache + "/initrd-*.cpio"), key=os.path.getmtime)
    ap.add_argument("--kernel", default=kernels[-1] if kernels else None)
    ap.add_argument("--initrd", default=initrds[-1] if initrds else None)
    a = ap.parse_args()
    if not a.kernel or not a.initrd:
        sys.exit("tap-overhead: no kernel or initrd in " + cache + " (run the qemu module's tests once, or pass --kernel/--initrd)")
    if not shutil.which(a.qemu):
        sys.exit(f"tap-overhead: {a.qemu} not found")
    # build the launcher's application once, outside the measurements
    subprocess.run([os.path.join(ROOT, "ballast"), "--version"], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="ballast-tap-overhead-")
    sq, stq = f"{work}/src.qmp", f"{work}/src-tap.qmp"
    src_p = subprocess.Popen(qemu_args(a, work, "src", [sq, stq]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    n = 0
    try:
        src = Qmp(sq)
        wait_serial(f"{work}/src.serial", "BALLAST READY", 300)
        src.cmd("migrate-set-parameters", **{"max-bandwidth": 100 << 30, "downtime-limit": 2000})
        print(f"tap-overhead: {a.mem} MiB guest, workload {a.workload}, free-page-hint={a.hint}, {a.accel}; "
              f"{a.pairs} interleaved pairs (first a warm-up pair, not counted)", flush=True)
        for pair in range(a.pairs + 1):
            order = [False, True] if pair % 2 == 0 else [True, False]
            got = {}
            for through_tap in order:
                n += 1
                r = one(a, work, src, stq, n, through_tap)
                got[through_tap] = r
                print(f"  pair {pair}{' (warm-up)' if pair == 0 else ''}: {'tap   ' if through_tap else 'direct'} "
                      f"total {r['total_ms']} ms, wall {r['wall_ms']:.0f} ms, downtime {r['downtime_ms']} ms, "
                      f"normal {r['normal']}, zero {r['duplicate']}, syncs {r['syncs']}", flush=True)
            if pair > 0:
                rows.append(got)
    finally:
        try:
            src.cmd("quit")
        except Exception:
            pass
        if src_p.poll() is None:
            src_p.kill()
        src_p.wait()
        shutil.rmtree(work, ignore_errors=True)
    for key in ("total_ms", "wall_ms"):
        d = [p[False][key] for p in rows]
        t = [p[True][key] for p in rows]
        ratios = [p[True][key] / p[False][key] for p in rows]
        print(f"{key}: direct median {statistics.median(d):.0f} (range {min(d):.0f}-{max(d):.0f}), "
              f"tap median {statistics.median(t):.0f} (range {min(t):.0f}-{max(t):.0f}); tap/direct per pair: median "
              f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f}) = "
              f"{(statistics.median(ratios) - 1) * 100:+.1f} %")


if __name__ == "__main__":
    main()
