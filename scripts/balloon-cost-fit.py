#!/usr/bin/env python3
"""Fits the simulator's balloon costs (sim-backend BalloonCosts) to scripts/balloon-speed.sh's output.

usage: scripts/balloon-cost-fit.py FRESH.txt WRITTEN.txt [PFN_NS]
  FRESH.txt:   the output of scripts/balloon-speed.sh --sizes ... --fresh
  WRITTEN.txt: the output of scripts/balloon-speed.sh --sizes ...       (pages written before each inflate)
  PFN_NS:      the cost of one page named in a PFN array (java scripts/BalloonPfnCost.java), 6.5 by default

Per (pages, kind, op, size) the median time over the repeats is modelled as
    T = F + M * messages + PFN_NS * pfn_pages + C * madvise_calls + B * backed_pages
(F: the command that starts the operation, not the balloon's; backed_pages: the pages of an inflate of written
memory). Prints the least-squares fit weighted by relative error, with and without F, the unweighted one, and
10-90 % bootstrap ranges (over the repeats) of the unweighted fit. Needs numpy."""
import statistics as st
import sys

import numpy as np

if len(sys.argv) < 3:
    sys.exit(__doc__)
P = float(sys.argv[3]) if len(sys.argv) > 3 else 6.5
groups = {}
for fn, fresh in ((sys.argv[1], True), (sys.argv[2], False)):
    for line in open(fn):
        f = line.split()
        if len(f) == 8 and f[0].isdigit():
            mib, kind, op, _, ms, msgs, mad, pages = f
            groups.setdefault((fresh, kind, op, int(mib)), []).append((float(ms), int(msgs), int(mad), int(pages)))
keys = sorted(groups)


def rows(with_f):
    x = []
    for fresh, kind, op, _ in keys:
        _, msgs, mad, pages = groups[(fresh, kind, op, _)][0]
        backed = pages if op == "inflate" and not fresh else 0
        x.append(([1] if with_f else []) + [msgs, mad, backed])
    return np.array(x, float)


def ys(pick):
    y = []
    for k in keys:
        v = groups[k]
        pfn = v[0][3] if k[1] == "pfn" else 0
        y.append(st.median(pick(v)) * 1e6 - P * pfn)
    return np.array(y)


y = ys(lambda v: [e[0] for e in v])
for with_f, weighted in ((True, True), (False, True), (True, False)):
    x = rows(with_f)
    w = 1 / y if weighted else np.ones_like(y)
    c, *_ = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)
    names = (["F"] if with_f else []) + ["M (a message)", "C (a madvise call)", "B (a backed page)"]
    print(("relative errors" if weighted else "absolute errors") + ": "
          + ", ".join(f"{n} {v / 1000:.2f} us" for n, v in zip(names, c)))
rng = np.random.default_rng(1)
x = rows(True)
boot = []
for _ in range(500):
    yb = ys(lambda v: [v[i][0] for i in rng.integers(0, len(v), len(v))])
    boot.append(np.linalg.lstsq(x, yb, rcond=None)[0])
boot = np.array(boot)
for i, n in enumerate(["F", "M", "C", "B"]):
    print(f"bootstrap 10-90 % of {n}: {np.percentile(boot[:, i], 10) / 1000:.2f} .. {np.percentile(boot[:, i], 90) / 1000:.2f} us")
