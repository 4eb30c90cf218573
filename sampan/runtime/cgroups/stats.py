"""What a container's cgroup has used: CPU time, memory, pids, block IO, the same
shape from v1 (one dir per controller) and v2 (one unified dir) for engine/stats.py.

v1: cpuacct.usage, cpuacct.usage_percpu, cpuacct.stat (USER_HZ ticks), cpu.stat
(throttling), memory.usage_in_bytes, memory.max_usage_in_bytes, memory.limit_in_bytes,
memory.stat, pids.current/max, blkio.throttle.io_service_bytes(_recursive).
v2: cpu.stat (microseconds), memory.current, memory.max, memory.stat, pids.current/max,
io.stat (rbytes, wbytes, rios, wios per device).
"""

from __future__ import annotations

import os
from pathlib import Path

from sampan.runtime.cgroups.base import read_keyed

_TICK_NS = 1_000_000_000 // (os.sysconf("SC_CLK_TCK") or 100)


def _int(path: Path, default: int | None = 0) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return default
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return default


def read(cg) -> dict:
    from sampan.runtime.cgroups.v2 import CgroupV2
    return _v2(cg.path) if isinstance(cg, CgroupV2) else _v1(cg)


def _v2(d: Path) -> dict:
    cpu = read_keyed(d / "cpu.stat")
    io = []
    try:
        lines = (d / "io.stat").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        dev, *pairs = line.split()
        major, _, minor = dev.partition(":")
        kv = dict(p.split("=", 1) for p in pairs if "=" in p)
        for key, op in (("rbytes", "read"), ("wbytes", "write")):
            if key in kv and major.isdigit() and minor.isdigit():
                io.append((int(major), int(minor), op, int(kv[key])))
    return {
        "cpu": {"total_ns": cpu.get("usage_usec", 0) * 1000, "user_ns": cpu.get("user_usec", 0) * 1000,
                "system_ns": cpu.get("system_usec", 0) * 1000, "percpu": None,
                "periods": cpu.get("nr_periods", 0), "throttled_periods": cpu.get("nr_throttled", 0),
                "throttled_ns": cpu.get("throttled_usec", 0) * 1000},
        "memory": {"usage": _int(d / "memory.current"), "max_usage": None,
                   "limit": _int(d / "memory.max", None), "stats": read_keyed(d / "memory.stat")},
        "pids": {"current": _int(d / "pids.current"), "limit": _int(d / "pids.max", None)},
        "io": io,
    }


def _v1(cg) -> dict:
    dirs = cg.existing()

    def ctrl(name: str) -> Path | None:
        return next((d for n, d in dirs.items() if name in n.split(",")), None)

    acct, cpu, mem, pids, blkio = ctrl("cpuacct"), ctrl("cpu"), ctrl("memory"), ctrl("pids"), ctrl("blkio")
    out: dict = {"cpu": {"total_ns": 0, "user_ns": 0, "system_ns": 0, "percpu": None, "periods": 0,
                         "throttled_periods": 0, "throttled_ns": 0},
                 "memory": {"usage": 0, "max_usage": 0, "limit": None, "stats": {}},
                 "pids": {"current": 0, "limit": None}, "io": []}
    if acct is not None:
        c = out["cpu"]
        c["total_ns"] = _int(acct / "cpuacct.usage")
        try:
            c["percpu"] = [int(x) for x in (acct / "cpuacct.usage_percpu").read_text().split()]
        except (OSError, ValueError):
            pass
        ticks = read_keyed(acct / "cpuacct.stat")
        c["user_ns"], c["system_ns"] = ticks.get("user", 0) * _TICK_NS, ticks.get("system", 0) * _TICK_NS
    if cpu is not None:
        t = read_keyed(cpu / "cpu.stat")
        out["cpu"].update(periods=t.get("nr_periods", 0), throttled_periods=t.get("nr_throttled", 0),
                          throttled_ns=t.get("throttled_time", 0))
    if mem is not None:
        limit = _int(mem / "memory.limit_in_bytes", None)
        out["memory"] = {"usage": _int(mem / "memory.usage_in_bytes"),
                         "max_usage": _int(mem / "memory.max_usage_in_bytes"),
                         "limit": None if limit is None or limit >= 1 << 62 else limit,  # "unlimited"
                         "stats": read_keyed(mem / "memory.stat")}
    if pids is not None:
        out["pids"] = {"current": _int(pids / "pids.current"), "limit": _int(pids / "pids.max", None)}
    if blkio is not None:
        for name in ("blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"):
            try:
                lines = (blkio / name).read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                if len(parts) == 3 and ":" in parts[0] and parts[1] in ("Read", "Write"):
                    major, minor = parts[0].split(":")
                    out["io"].append((int(major), int(minor), parts[1].lower(), int(parts[2])))
            break
    return out
