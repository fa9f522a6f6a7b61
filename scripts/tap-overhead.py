#!/usr/bin/env python3
"""The tap's overhead on a real QEMU migration: QEMU source -> destination directly, against the same through
`ballast tap` (validating, forwarding and journaling every record, with --qmp), in interleaved pairs whose order
alternates. One source guest boots once and is migrated again and again (`cont` after each migration resumes it);
every migration gets a fresh destination, which must come up `running`. Prints each migration's QEMU total time
(query-migrate's total-time) and wall time from `migrate` to `completed`, then the medians, the spread, and the
tap's overhead as the median of the per-pair ratios, with its spread, a bootstrap interval of that median and the
sign test's (how many pairs the tap was slower in, and the distribution-free interval of the median ratio from the
pairs' order statistics). Each migration's line also has the CPU the source and destination QEMU used from `migrate`
until the destination runs (the source's includes its vCPU running the guest meanwhile, the destination's its guest
after the switchover: context, not the tap's cost) and the tap's own CPU from `migrate` to its exit.

  scripts/tap-overhead.py [--pairs 11] [--mem 512] [--workload memhog:300] [--hint off] [--qemu qemu-system-x86_64]
                          [--bandwidth MBPS|qemu] [--downtime-limit MS|qemu] [--dest-prealloc] [--relay tap|rw|splice|tee]
                          [--pin SRC,DEST,TAP] [--json OUT] [--profile DIR]

--bandwidth caps QEMU's migration (max-bandwidth, MB/s; default: no cap, loopback at memory speed; `qemu`: QEMU's own
default). --downtime-limit sets QEMU's downtime-limit (default 2000 ms; `qemu`: QEMU's own default). QEMU lifts the cap
for the stop-and-copy, and a downtime limit of 2 s on a small guest makes most of the migration a stop-and-copy at
memory speed. --dest-prealloc
starts every destination with -mem-prealloc, so that its first writes to its RAM do not wait for this machine's host
to hand it memory (that cost varies several-fold from one destination to the next and hides the tap's).

--relay puts something else than the tap in the relayed arm, to calibrate what any relay costs here:
scripts/relay-floor.c (built with gcc into the work folder), `rw` (read and write through a 1 MiB buffer: every
byte through user space once, the least a relay that looks at the stream does), `splice` (no byte in user space) or
`tee` (splice, tee and read: every byte seen in user space, none written from it).

--pin runs the source QEMU, the destination QEMU and the tap each under `taskset -c` with that CPU list (e.g.
`--pin 0,1,1`: the source on CPU 0, the destination and the tap on CPU 1), the same in both arms; the other
people's processes on the machine are not pinned, so this removes only the noise of our own processes moving.

The kernel and initrd are the ones the qemu module's tests cache in ~/.cache/ballast/qemu (run them once, or pass
--kernel and --initrd). Uses TCG unless --accel kvm is given (this machine's nested KVM cannot boot the guest).
"""
import argparse, glob, json, math, os, random, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

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


def pinned(cpus, cmd):
    return ["taskset", "-c", cpus] + cmd if cpus else cmd


def qemu_args(a, work, name, qmps, incoming=None, prealloc=False):
    cmd = [a.qemu, "-accel", a.accel, "-machine", "q35", "-smp", "1", "-m", f"{a.mem}M", "-nodefaults",
           "-display", "none", "-kernel", a.kernel, "-initrd", a.initrd,
           "-append", f"console=ttyS0 panic=-1 quiet ballast.workload={a.workload}",
           "-serial", f"file:{work}/{name}.serial", "-object", "iothread,id=iot0",
           "-device", f"virtio-balloon-pci,id=balloon0,free-page-hint={a.hint},iothread=iot0"]
    for q in qmps:
        cmd += ["-qmp", f"unix:{q},server=on,wait=off"]
    if incoming:
        cmd += ["-incoming", incoming]
    if prealloc:
        cmd += ["-mem-prealloc"]
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


def cpu_s(pid):
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def one(a, work, src, src_tap_qmp, i, through_tap, src_pid):
    dport = free_port()
    dqmp = f"{work}/dest{i}.qmp"
    dest = subprocess.Popen(pinned(a.pin_dest, qemu_args(a, work, f"dest{i}", [dqmp], f"tcp:127.0.0.1:{dport}",
                                                         a.dest_prealloc)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tap = None
    try:
        dq = Qmp(dqmp)
        uri = f"tcp:127.0.0.1:{dport}"
        if through_tap:
            tport = free_port()
            if a.relay == "tap":
                cmd = [os.path.join(ROOT, "ballast"), "tap", "--listen", f"127.0.0.1:{tport}", "--forward",
                       f"127.0.0.1:{dport}", "--qmp", src_tap_qmp, "--journal", f"{work}/journal{i}"]
            else:
                cmd = [a.relay_floor, a.relay, str(tport), str(dport)]
            if a.profile:  # the tap's CPU by thread (the wrapper's own sampling is counted in tap_cpu_s too)
                cmd = [sys.executable, os.path.join(ROOT, "scripts", "thread-cpu.py"), "--json",
                       os.path.join(a.profile, f"tap{i}.json"), "--inherit-output", "--"] + cmd
            tap = subprocess.Popen(pinned(a.pin_tap, cmd),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = tap.stdout.readline()
            if not line.startswith(("tap: listening", "relay: listening")):
                raise RuntimeError("tap did not start: " + line + tap.stderr.read())
            uri = f"tcp:127.0.0.1:{tport}"
        cpu0 = {"src": cpu_s(src_pid), "dest": cpu_s(dest.pid), "tap": cpu_s(tap.pid) if tap else None}
        info, wall = migrate(src, uri)
        src_cpu = cpu_s(src_pid) - cpu0["src"]
        tap_cpu = tap_relay_cpu = None
        if tap:
            out, err = tap.stdout.read(), tap.stderr.read()  # until the tap exits
            _, status, usage = os.wait4(tap.pid, 0)
            tap.returncode = os.waitstatus_to_exitcode(status)
            tap_cpu = usage.ru_utime + usage.ru_stime  # the whole process: JVM start, warm-up and relay
            tap_relay_cpu = tap_cpu - cpu0["tap"]  # from `migrate` to its exit
            if tap.returncode != 0:
                raise RuntimeError(f"tap exited {tap.returncode}: {err.strip()}")
        deadline = time.time() + 60
        status = dq.cmd("query-status")["status"]
        while status != "running" and time.time() < deadline:
            time.sleep(0.05)
            status = dq.cmd("query-status")["status"]
        if status != "running":
            raise RuntimeError(f"destination is {status}, not running")
        dest_cpu = cpu_s(dest.pid) - cpu0["dest"]
        ram = info["ram"]
        row = dict(tap=through_tap, total_ms=info["total-time"], downtime_ms=info.get("downtime", 0), wall_ms=wall,
                   normal=ram["normal"], duplicate=ram["duplicate"], syncs=ram.get("dirty-sync-count", 0),
                   bytes=ram.get("transferred", 0), tap_cpu_s=tap_cpu, tap_relay_cpu_s=tap_relay_cpu,
                   src_cpu_s=src_cpu, dest_cpu_s=dest_cpu, load=os.getloadavg()[0])
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
    ap.add_argument("--pairs", type=int, default=11)
    ap.add_argument("--mem", type=int, default=512)
    ap.add_argument("--workload", default="memhog:300")
    ap.add_argument("--hint", default="off", choices=["on", "off"])
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--pin", default="", help="SRC,DEST,TAP: taskset CPU lists for the source, destination and tap "
                    "(e.g. 0,1,1; a list with several CPUs as 0-1 or 0:1)")
    ap.add_argument("--profile", metavar="DIR", help="run each tap under scripts/thread-cpu.py, its CPU by thread "
                    "into DIR/tapN.json (for where the time goes; not for the overhead figure)")
    ap.add_argument("--bandwidth", default="0", help="QEMU's max-bandwidth in MB/s (default: no cap; qemu: QEMU's own)")
    ap.add_argument("--downtime-limit", default="2000", help="QEMU's downtime-limit in ms (qemu: QEMU's own)")
    ap.add_argument("--dest-prealloc", action="store_true", help="start each destination with -mem-prealloc")
    ap.add_argument("--relay", default="tap", choices=["tap", "rw", "splice", "tee"],
                    help="what the relayed arm goes through (rw, splice: scripts/relay-floor.c, to calibrate)")
    ap.add_argument("--json", help="write every migration's figures and the summary to this file")
    ap.add_argument("--seed", type=int, default=1, help="the bootstrap's random seed")
    cache = os.path.expanduser(os.environ.get("XDG_CACHE_HOME", "~/.cache")) + "/ballast/qemu"
    kernels = sorted(glob.glob(cache + "/kernel/*/boot/vmlinuz-*"))
    initrds = sorted(glob.glob(cache + "/initrd-*.cpio"), key=os.path.getmtime)
    ap.add_argument("--kernel", default=kernels[-1] if kernels else None)
    ap.add_argument("--initrd", default=initrds[-1] if initrds else None)
    a = ap.parse_args()
    a.pin_src = a.pin_dest = a.pin_tap = None
    if a.pin:
        parts = a.pin.split(",")
        if len(parts) != 3 or not all(parts):
            sys.exit("tap-overhead: --pin needs three CPU lists, SRC,DEST,TAP (e.g. 0,1,1)")
        a.pin_src, a.pin_dest, a.pin_tap = (x.replace(":", ",") for x in parts)
        if not shutil.which("taskset"):
            sys.exit("tap-overhead: --pin needs taskset (util-linux)")
    if a.profile:
        os.makedirs(a.profile, exist_ok=True)
    for opt in ("bandwidth", "downtime_limit"):
        v = getattr(a, opt)
        if v != "qemu" and not (v.isdigit()):
            sys.exit(f"tap-overhead: --{opt.replace('_', '-')} is a whole number or qemu, not {v!r}")
    if a.pairs < 1:
        sys.exit("tap-overhead: --pairs must be at least 1")
    if not a.kernel or not a.initrd:
        sys.exit("tap-overhead: no kernel or initrd in " + cache + " (run the qemu module's tests once, or pass --kernel/--initrd)")
    if not shutil.which(a.qemu):
        sys.exit(f"tap-overhead: {a.qemu} not found")
    # build the launcher's application once, outside the measurements
    subprocess.run([os.path.join(ROOT, "ballast"), "--version"], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="ballast-tap-overhead-")
    if a.relay != "tap":
        a.relay_floor = f"{work}/relay-floor"
        subprocess.run(["gcc", "-O2", "-o", a.relay_floor, os.path.join(ROOT, "scripts", "relay-floor.c")], check=True)
    sq, stq = f"{work}/src.qmp", f"{work}/src-tap.qmp"
    src_p = subprocess.Popen(pinned(a.pin_src, qemu_args(a, work, "src", [sq, stq])), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = []
    n = 0
    try:
        src = Qmp(sq)
        wait_serial(f"{work}/src.serial", "BALLAST READY", 300)
        params = {}
        if a.bandwidth != "qemu":
            params["max-bandwidth"] = int(a.bandwidth) * 1000 * 1000 if int(a.bandwidth) else 100 << 30
        if a.downtime_limit != "qemu":
            params["downtime-limit"] = int(a.downtime_limit)
        if params:
            src.cmd("migrate-set-parameters", **params)
        mp = src.cmd("query-migrate-parameters")
        print(f"tap-overhead: {a.mem} MiB guest, workload {a.workload}, free-page-hint={a.hint}, {a.accel}; "
              f"relayed through {a.relay if a.relay == 'tap' else 'relay-floor ' + a.relay}; "
              f"max-bandwidth {mp['max-bandwidth'] / 1e6:.1f} MB/s, downtime-limit {mp['downtime-limit']} ms "
              f"({'QEMU defaults' if a.bandwidth == a.downtime_limit == 'qemu' else 'set'}); "
              f"destination {'preallocated' if a.dest_prealloc else 'not preallocated'}; "
              f"{a.pairs} interleaved pairs (first a warm-up pair, not counted); "
              f"pinned {'source ' + a.pin_src + ', destination ' + a.pin_dest + ', tap ' + a.pin_tap if a.pin else 'no'}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)
        for pair in range(a.pairs + 1):
            order = [False, True] if pair % 2 == 0 else [True, False]
            got = {}
            for through_tap in order:
                n += 1
                r = one(a, work, src, stq, n, through_tap, src_p.pid)
                got[through_tap] = r
                print(f"  pair {pair}{' (warm-up)' if pair == 0 else ''}: {'relay ' if through_tap else 'direct'} "
                      f"total {r['total_ms']} ms, wall {r['wall_ms']:.0f} ms, downtime {r['downtime_ms']} ms, "
                      f"normal {r['normal']}, zero {r['duplicate']}, syncs {r['syncs']}, load {r['load']:.1f}"
                      + f", CPU: source {r['src_cpu_s']:.2f} s, destination {r['dest_cpu_s']:.2f} s"
                      + (f", relay {r['tap_relay_cpu_s']:.2f} s ({r['tap_cpu_s']:.2f} s with its start)"
                         if through_tap else ""), flush=True)
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
    summary = {}
    arm = "tap" if a.relay == "tap" else "relay-floor " + a.relay
    for key in ("total_ms", "wall_ms"):
        # QEMU 7.2 answered total-time 0 for a completed migration once: such a pair has no ratio for it
        good = [p for p in rows if p[False][key] > 0 and p[True][key] > 0]
        if len(good) < len(rows):
            print(f"{key}: {len(rows) - len(good)} pair(s) left out: QEMU reported 0")
        if not good:
            continue
        d = [p[False][key] for p in good]
        t = [p[True][key] for p in good]
        ratios = [p[True][key] / p[False][key] for p in good]
        st = ratio_stats(ratios, a.seed)
        summary[key] = dict(direct=d, tap=t, ratios=ratios, **st)
        print(f"{key}: direct median {statistics.median(d):.0f} (range {min(d):.0f}-{max(d):.0f}), "
              f"{arm} median {statistics.median(t):.0f} (range {min(t):.0f}-{max(t):.0f}); {arm}/direct per pair "
              f"({len(ratios)}): median {st['median']:.3f} = {(st['median'] - 1) * 100:+.1f} %, "
              f"quartiles {st['q1']:.3f}-{st['q3']:.3f}, range {min(ratios):.3f}-{max(ratios):.3f}; "
              f"bootstrap 95 % interval of the median {st['boot_lo']:.3f}-{st['boot_hi']:.3f}; "
              f"sign test: {arm} slower in {st['slower']} of {len(ratios)} pairs (two-sided p {st['sign_p']:.3f}), "
              f"order-statistic interval of the median ratio {st['os_lo']:.3f}-{st['os_hi']:.3f} "
              f"({st['os_conf'] * 100:.1f} %)")
    cpu = [p[True]["tap_cpu_s"] for p in rows]
    relay = [p[True]["tap_relay_cpu_s"] for p in rows]
    gb = [p[True]["bytes"] / 1e9 for p in rows]
    print(f"{arm} process CPU per migration: from `migrate` to its exit median {statistics.median(relay):.2f} s "
          f"(range {min(relay):.2f}-{max(relay):.2f}; {statistics.median(r / g for r, g in zip(relay, gb)):.2f} s per GB "
          f"of query-migrate's transferred), with its start {statistics.median(cpu):.2f} s"
          + (" (with --profile both include thread-cpu.py's own sampling)" if a.profile else ""))
    if a.json:
        json.dump(dict(args={k: v for k, v in vars(a).items()}, pairs=rows and [{"direct": p[False], "tap": p[True]}
                  for p in rows], summary=summary), open(a.json, "w"), indent=1)


def ratio_stats(ratios, seed):
    """Median of the per-pair ratios, its quartiles, a percentile bootstrap 95 % interval of the median (10,000
    resamples of the pairs), and the sign test: the pairs the tap was slower in, the exact two-sided p of that count
    under 'as often faster as slower', and the distribution-free interval of the median from the order statistics
    (the widest symmetric one with at least 95 % coverage, else the whole range with its coverage)."""
    n = len(ratios)
    s = sorted(ratios)
    q = statistics.quantiles(s, n=4, method="inclusive") if n > 1 else [s[0]] * 3
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(s, k=n)) for _ in range(10000))
    slower = sum(1 for r in ratios if r > 1)
    ties = sum(1 for r in ratios if r == 1)
    m = n - ties
    k = min(slower, m - slower)
    p = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2 ** m) if m else 1.0
    # coverage of [s[j], s[n-1-j]] is 1 - 2 * P(Bin(n, 1/2) <= j)
    j, conf = 0, 1 - 2 / 2 ** n
    while j + 1 < n - 1 - (j + 1):
        c = 1 - 2 * sum(math.comb(n, i) for i in range(j + 2)) / 2 ** n
        if c < 0.95:
            break
        j, conf = j + 1, c
    return dict(median=statistics.median(s), q1=q[0], q3=q[2], boot_lo=meds[249], boot_hi=meds[9749], slower=slower,
                sign_p=p, os_lo=s[j], os_hi=s[n - 1 - j], os_conf=conf)


if __name__ == "__main__":
    main()
