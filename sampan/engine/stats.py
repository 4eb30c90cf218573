"""`stats`: a container's resource use as Docker's stats JSON, from its cgroup (through
runtime/cgroups/stats.py, v1 or v2) and its network namespace (/proc/PID/net/dev).

One sample per call; precpu_stats and preread come from the caller's previous sample,
so a client computes CPU % over the interval between two (Docker's formula:
delta total_usage / delta system_cpu_usage * online_cpus * 100).
"""

from __future__ import annotations

import os
import time

from sampan.engine.context import Context
from sampan.engine.records import ZERO_TIME, ContainerRecord
from sampan.engine.status import status_of

_TICK_NS = 1_000_000_000 // (os.sysconf("SC_CLK_TCK") or 100)


def _now_rfc3339() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"


def system_cpu_ns() -> int:
    """The host's CPU time, all states, in nanoseconds (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:9]  # user nice system idle iowait irq softirq steal
    return sum(int(x) for x in fields) * _TICK_NS


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _networks(pid: int) -> dict:
    """Each interface but lo, as Docker's NetworkStats, read in the container's netns."""
    out: dict[str, dict[str, int]] = {}
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return out
    for line in lines:
        name, _, rest = line.partition(":")
        name = name.strip()
        v = [int(x) for x in rest.split()]
        if name == "lo" or len(v) < 16:
            continue
        out[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                     "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11]}
    return out


def _empty(rec: ContainerRecord) -> dict:
    cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    return {"name": "/" + rec.name, "id": rec.id, "read": ZERO_TIME, "preread": ZERO_TIME,
            "pids_stats": {}, "num_procs": 0, "storage_stats": {},
            "blkio_stats": {"io_service_bytes_recursive": None, "io_serviced_recursive": None,
                            "io_queue_recursive": None, "io_service_time_recursive": None,
                            "io_wait_time_recursive": None, "io_merged_recursive": None,
                            "io_time_recursive": None, "sectors_recursive": None},
            "cpu_stats": cpu, "precpu_stats": dict(cpu), "memory_stats": {}}


def sample(ctx: Context, rec: ContainerRecord, previous: dict | None = None) -> dict:
    out = _empty(rec)
    if previous:
        out["preread"] = previous.get("read", ZERO_TIME)
        out["precpu_stats"] = previous.get("cpu_stats", out["precpu_stats"])
    if not status_of(rec).running:
        return out  # Docker's answer for a container that does not run: zeros
    from sampan.runtime.base import cgroups_path
    from sampan.runtime.cgroups import open_cgroup
    from sampan.runtime.cgroups.stats import read
    raw = read(open_cgroup(cgroups_path(rec.id, rec.config.get("cgroup_parent"))))
    c, m, p = raw["cpu"], raw["memory"], raw["pids"]
    usage = {"total_usage": c["total_ns"], "usage_in_kernelmode": c["system_ns"],
             "usage_in_usermode": c["user_ns"]}
    if c["percpu"] is not None:
        usage["percpu_usage"] = c["percpu"]
    out["read"] = _now_rfc3339()
    out["cpu_stats"] = {"cpu_usage": usage, "system_cpu_usage": system_cpu_ns(),
                        "online_cpus": len(os.sched_getaffinity(0)) or os.cpu_count() or 1,
                        "throttling_data": {"periods": c["periods"], "throttled_periods": c["throttled_periods"],
                                            "throttled_time": c["throttled_ns"]}}
    host = _host_memory()
    limit = m["limit"] if m["limit"] is not None and (not host or m["limit"] < host) else host
    mem = {"usage": m["usage"] or 0, "stats": m["stats"], "limit": limit}
    if m["max_usage"] is not None:
        mem["max_usage"] = m["max_usage"]
    out["memory_stats"] = mem
    out["pids_stats"] = {"current": p["current"] or 0}
    if p["limit"] is not None:
        out["pids_stats"]["limit"] = p["limit"]
    out["blkio_stats"]["io_service_bytes_recursive"] = [
        {"major": ma, "minor": mi, "op": op, "value": v} for ma, mi, op, v in raw["io"]]
    nets = _networks(rec.pid)
    if nets:
        out["networks"] = nets
    return out
