"""Measure network set-up and teardown as `run` pays for them (root needed).

    .venv/bin/python bench/network_attach.py [-n 20]

(with PYTHONDONTWRITEBYTECODE set, every fresh interpreter recompiles sampan's
modules and the import figures measure the compiler: unset it for real numbers)

Prints medians (ms) of: netns create; attach without ports (bridge only);
attach with one published port (bridge + portmap); synchronous release (CNI
DEL + netns removal); release(background=True), i.e. what `run --rm` waits
for; and the background DEL's own duration (settle).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sampan.network import NetworkManager, parse_publish
from sampan.state.db import Database
from sampan.state.paths import Paths


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def one(nm: NetworkManager, ports: bool, background: bool, stats: dict[str, list[float]]) -> None:
    cid = secrets.token_hex(32)
    t0 = time.perf_counter()
    ns = nm.create_netns(cid)
    stats["netns create"].append(_ms(t0))
    maps = nm.check_ports(parse_publish("127.0.0.1::80")) if ports else []
    socks = nm.reserve_ports(maps)
    t0 = time.perf_counter()
    nm.attach(cid, ns, "bridge", maps)
    stats["attach +portmap" if ports else "attach bridge only"].append(_ms(t0))
    t0 = time.perf_counter()
    nm.release(cid, ns, background=background)
    for s in socks:
        s.close()
    if background:
        stats["release (background): caller waits"].append(_ms(t0))
        t1 = time.perf_counter()
        nm.settle(cid)
        stats["  background DEL finishes after"].append(_ms(t1))
    else:
        stats["release sync" + (" +portmap" if ports else "")].append(_ms(t0))


def spare_cycle(nm: NetworkManager, stats: dict[str, list[float]]) -> None:
    """What `run --rm` pays with sandboxes made ahead: setup() claims a spare,
    release(background, replenish) returns at once and makes the next spare."""
    cid = secrets.token_hex(32)
    nm.settle()  # the previous cycle's spare is ready
    t0 = time.perf_counter()
    ns, _ = nm.setup(cid)
    stats["setup() claiming a spare"].append(_ms(t0))
    t0 = time.perf_counter()
    nm.release(cid, ns, background=True, replenish=True)
    stats["release(background, replenish)"].append(_ms(t0))


RUN_PATH = """
import secrets, sys, time
ts = time.perf_counter()
# stdlib modules any engine command loads anyway, timed apart from ours
import json, pathlib, socket, sqlite3, subprocess, threading, ipaddress, ctypes, typing
from pathlib import Path
from sampan.state.db import Database
from sampan.state.paths import Paths
t0 = time.perf_counter()
from sampan.network import NetworkManager
paths = Paths(Path(sys.argv[1]), Path(sys.argv[2]))
db = Database(paths.db)
nm = NetworkManager(paths, db)
t1 = time.perf_counter()
cid = secrets.token_hex(32)
ns, att = nm.setup(cid, hostname="b", hosts_path=Path(sys.argv[3]))
nm.resolv_conf()
t2 = time.perf_counter()
nm.release(cid, ns, background=True, replenish=True)
t3 = time.perf_counter()
print((t0 - ts) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000)
"""


def run_path(paths: Paths, stats: dict[str, list[float]]) -> None:
    """What one `sampan run --rm` process pays for networking, in a fresh interpreter."""
    import subprocess
    import sys

    hosts = paths.runroot / "bench-hosts"
    out = subprocess.run([sys.executable, "-c", RUN_PATH, str(paths.root), str(paths.runroot), str(hosts)],
                         capture_output=True, text=True, check=True).stdout.split()
    std, imp, setup, rel = map(float, out)
    stats["fresh process: stdlib imports (not ours)"].append(std)
    stats["fresh process: import sampan.network + NetworkManager()"].append(imp)
    stats["fresh process: setup() (spare) + DNS files"].append(setup)
    stats["fresh process: release(background)"].append(rel)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=15)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sampan-bench-net-"))
    paths = Paths(base / "root", base / "run")
    paths.ensure()
    db = Database(paths.db)
    nm = NetworkManager(paths, db)
    stats: dict[str, list[float]] = {k: [] for k in (
        "netns create", "attach bridge only", "attach +portmap", "release sync", "release sync +portmap",
        "release (background): caller waits", "  background DEL finishes after",
        "setup() claiming a spare", "release(background, replenish)",
        "fresh process: stdlib imports (not ours)", "fresh process: import sampan.network + NetworkManager()",
        "fresh process: setup() (spare) + DNS files",
        "fresh process: release(background)")}
    try:
        t0 = time.perf_counter()
        nm.default()
        print(f"default network create: {_ms(t0):.1f} ms")
        one(nm, True, False, {k: [] for k in stats})  # warm-up: global CNI chains, page cache
        for _ in range(args.n):
            one(nm, False, False, stats)
            one(nm, True, False, stats)
            one(nm, False, True, stats)
        nm.prepare_spare()
        for _ in range(args.n):
            spare_cycle(nm, stats)
        for _ in range(args.n):
            nm.settle()
            run_path(paths, stats)
    finally:
        nm.settle()
        nm.destroy_default()
        db.close()
        shutil.rmtree(base, ignore_errors=True)
    for k, v in stats.items():
        if v:
            print(f"{k:56s} median {statistics.median(v):7.1f} ms  (min {min(v):.1f}, max {max(v):.1f}, n={len(v)})")


if __name__ == "__main__":
    main()
