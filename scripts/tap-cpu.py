#!/usr/bin/env python3
"""CPU time of `ballast tap` per GB relayed, by thread, over loopback without QEMU.

A saved stream (given with --stream, or a synthetic QEMU 7.2 stream written once: one pass over a --mem MiB
`pc.ram`, --data of the pages as PAGE records and the rest ZERO, in runs of 1-64, 30 PART sections) is sent from a
file to the tap over loopback (sendfile), and the tap forwards it to a sink socket that reads and discards it.
The tap runs as a user runs it (`./ballast tap --listen ... --forward ... --journal DIR`, a fresh JVM each time).

CPU time by thread is read from /proc/PID/task/*/stat every 10 ms (each thread's last reading is kept), the
process's total from its rusage once it has exited (every thread, ended ones too). Printed per run: the CPU used before the source
connected (JVM start, the journal's and the reader's warm-up: a fixed cost), the CPU used from then to the end
(the relay, its journal and the close), wall times, and the relay's CPU by thread group; then medians and ranges.

  scripts/tap-cpu.py [--runs 5] [--mem 1024] [--data 0.75] [--stream FILE] [--no-journal-check]
  BALLAST_JAVA_OPTS="-XX:TieredStopAtLevel=1" scripts/tap-cpu.py      # JVM options for the tap's process
  BALLAST=/elsewhere/ballast scripts/tap-cpu.py                       # another build's launcher
"""
import argparse, os, resource, random, re, shutil, socket, statistics, struct, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BALLAST = os.environ.get("BALLAST", os.path.join(ROOT, "ballast"))
TICK = os.sysconf("SC_CLK_TCK")


def synthetic(path, mem_mib, data_fraction, sections=30, seed=42):
    pages = mem_mib * 256
    rng = random.Random(seed)
    pool = os.urandom(1 << 20)
    with open(path + ".tmp", "wb", buffering=1 << 20) as f:
        w = f.write
        w(struct.pack(">IIBI", 0x5145564D, 3, 7, 10) + b"pc-q35-7.2")
        w(b"\x01" + struct.pack(">I", 2) + b"\x03ram" + struct.pack(">II", 0, 4))
        w(struct.pack(">Q", pages * 4096 | 0x04) + b"\x06pc.ram" + struct.pack(">QQ", pages * 4096, 0x10))
        w(b"\x7e" + struct.pack(">I", 2))
        p, named, k = 0, False, 0
        for s in range(sections):
            w((b"\x03" if s == sections - 1 else b"\x02") + struct.pack(">I", 2))
            stop = pages if s == sections - 1 else pages * (s + 1) // sections
            while p < stop:
                zero = rng.random() >= data_fraction
                run = min(stop - p, 1 + rng.randrange(64))
                for _ in range(run):
                    w(struct.pack(">Q", p * 4096 | (0x02 if zero else 0x08) | (0x20 if named else 0)))
                    if not named:
                        w(b"\x06pc.ram")
                        named = True
                    if zero:
                        w(b"\x00")
                    else:
                        o = (k * 4099) % ((1 << 20) - 4096)
                        k += 1
                        w(pool[o:o + 4096])
                    p += 1
            w(struct.pack(">Q", 0x10) + b"\x7e" + struct.pack(">I", 2))
        w(b"\x00")
    os.rename(path + ".tmp", path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads(pid):
    """{tid: (name, cpu seconds)} of a live process."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / TICK, int(fields[12]) / TICK)
    return out


GROUPS = [("compiler", r"^C[12] Compi|CompilerThre"), ("gc", r"^G1 |^GC |^VM Periodic|^Parallel|^Serial"),
          ("journal", r"^ballast-journ"), ("chronicle", r"(?i)chronicle|disk-space|queue|pretouch"),
          ("vm", r"^VM |^Signal|^Service|^Monitor|^Notif|^Common-Cleaner|^Reference|^Finalizer|^Attach")]


def group(name, tid, pid):
    if tid == pid or name == "java":
        return "main"
    for g, rx in GROUPS:
        if re.search(rx, name):
            return g
    return "other:" + name


def sink(server, result):
    conn, _ = server.accept()
    buf = bytearray(4 << 20)
    n = 0
    with conn:
        while True:
            r = conn.recv_into(buf)
            if r == 0:
                break
            n += r
    result["bytes"] = n
    result["end"] = time.monotonic()


def run_once(a, stream, size, work, i):
    lport, fport = free_port(), free_port()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", fport))
    server.listen(1)
    got = {}
    th = threading.Thread(target=sink, args=(server, got), daemon=True)
    th.start()
    journal = os.path.join(work, f"j{i}")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen([BALLAST, "tap", "--listen", f"127.0.0.1:{lport}", "--forward",
                          f"127.0.0.1:{fport}", "--journal", journal],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if "listening" not in line:
        p.wait()
        sys.exit(f"tap did not start: {line}{p.stderr.read()}")
    t_listen = time.monotonic()
    before = threads(p.pid)
    start_cpu = sum(v[1] for v in before.values())
    last = dict(before)
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            last.update(threads(p.pid))
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    with socket.create_connection(("127.0.0.1", lport)) as src, open(stream, "rb") as f:
        t_conn = time.monotonic()
        src.sendfile(f)
    th.join()
    out, err = p.communicate()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    poller.join()
    t_exit = time.monotonic()
    if p.returncode != 0 or got.get("bytes") != size:
        sys.exit(f"run {i}: exit {p.returncode}, forwarded {got.get('bytes')} of {size} bytes\n{out}{err}")
    server.close()
    shutil.rmtree(journal, ignore_errors=True)
    total = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)  # every thread, ended ones too
    by = {}
    for tid, (name, c, sys_) in last.items():
        b = before.get(tid, (name, 0.0, 0.0))
        g = group(name, tid, p.pid)
        by[g] = by.get(g, 0.0) + c - b[1]
        by[g + " (sys)"] = by.get(g + " (sys)", 0.0) + sys_ - b[2]
    return {"start_cpu": start_cpu, "relay_cpu": total - start_cpu, "total_cpu": total,
            "start_wall": t_listen - t0, "relay_wall": got["end"] - t_conn, "exit_wall": t_exit - t0, "by": by}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mem", type=int, default=1024, help="MiB of the synthetic stream's pc.ram")
    ap.add_argument("--data", type=float, default=0.75, help="fraction of PAGE records in the synthetic stream")
    ap.add_argument("--stream", help="a saved stream (migrate \"exec:cat > FILE\") instead of the synthetic one")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tap-cpu-")
    try:
        stream = a.stream
        if not stream:
            stream = os.path.join(tempfile.gettempdir(), f"tap-cpu-{a.mem}M-{a.data}.stream")
            if not os.path.exists(stream):
                synthetic(stream, a.mem, a.data)
        size = os.path.getsize(stream)
        gb = size / 1e9
        print(f"stream {stream}: {size:,} bytes; JVM options {os.environ.get('BALLAST_JAVA_OPTS', '(none)')}; "
              f"load {os.getloadavg()[0]:.1f}")
        subprocess.run([BALLAST, "--version"], check=True, capture_output=True)
        rs = []
        for i in range(a.runs):
            r = run_once(a, stream, size, work, i)
            rs.append(r)
            by = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["by"].items(), key=lambda kv: -kv[1]) if v >= 0.005)
            print(f"run {i}: start {r['start_cpu']:.2f} s CPU ({r['start_wall']:.1f} s wall); relay "
                  f"{r['relay_cpu']:.2f} s CPU = {r['relay_cpu'] / gb:.2f} s/GB ({r['relay_wall']:.2f} s wall, "
                  f"{gb / r['relay_wall']:.2f} GB/s); by thread: {by}; load {os.getloadavg()[0]:.1f}", flush=True)

        def med(key, f=lambda v: v):
            v = [f(r[key]) for r in rs]
            return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"

        print(f"median of {len(rs)}: start CPU {med('start_cpu')} s; relay CPU per GB "
              f"{med('relay_cpu', lambda c: c / gb)} s/GB; relay wall {med('relay_wall')} s; "
              f"total CPU {med('total_cpu')} s")
        groups = sorted({g for r in rs for g in r["by"]})
        print("relay CPU by thread group, median s/GB: " + ", ".join(
            f"{g} {statistics.median([r['by'].get(g, 0.0) / gb for r in rs]):.3f}" for g in groups
            if statistics.median([r['by'].get(g, 0.0) for r in rs]) >= 0.005))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
