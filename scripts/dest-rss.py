#!/usr/bin/env python3
"""Resident memory of a `ballast dest` across connections.

Usage: scripts/dest-rss.py HOST PORT CONNECTIONS DEST_PID [WIRE_VERSION]

Opens CONNECTIONS connections, one after another: each sends HELLO (a 64 MiB guest, a new
session), one full PAGES record (1024 pages, 4 MiB), then closes before COMPLETE (the dest
rejects it: TRUNCATED). Prints the dest's VmRSS (from /proc/DEST_PID/status) before and every 25
connections. Loopback only: point it at a dest on 127.0.0.1."""
import socket, struct, sys, os, random, time
if len(sys.argv) < 5:
    sys.exit("usage: dest-rss.py HOST PORT CONNECTIONS DEST_PID [WIRE_VERSION]")
host, port, n, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
version = int(sys.argv[5]) if len(sys.argv) > 5 else 3
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1]) // 1024
def rec(t, payload): return struct.pack("<HBBI", 0xBA11, t, 0, len(payload)) + payload
pages = (64 << 20) // 4096
name = b"ram-low"
def hello(session):
    return rec(1, struct.pack("<HBBIQ", version, 0, 0, 1, session) + struct.pack("<QQB", 0, pages, len(name)) + name)
data = os.urandom(4096) * 1024
pagesrec = rec(3, struct.pack("<IIQ", 0, 1024, 0) + data)
print(f"before: {rss()} MiB", flush=True)
for i in range(1, n + 1):
    s = socket.create_connection((host, port))
    s.sendall(hello(random.getrandbits(63)))
    hdr = s.recv(24)
    s.sendall(pagesrec)
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(65536): pass
    except OSError: pass
    s.close()
    if i % 25 == 0: print(f"after {i}: {rss()} MiB", flush=True)
