"""cgroup v1: one directory per controller under /sys/fs/cgroup/<ctrl>/<path>.

Moving a task between v1 cgroups costs about a millisecond per hierarchy on
this kernel (an RCU grace period under cgroup_threadgroup_rwsem), so a
container joins only the hierarchies it needs: memory, pids, cpu, cpuacct,
devices always; cpuset, blkio when the spec sets them. freezer and
name=systemd are left alone. Device rules follow runc: deny all, the spec's
rules, then runc's always-allowed list.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from sampan.runtime.cgroups.base import (RUNC_ALLOWED_DEVICES, Cgroup, kill_and_remove, mkdir,
                                         read_keyed, read_pids, write, write_each)

ALWAYS = ("memory", "pids", "cpu", "cpuacct", "devices")


@functools.lru_cache(maxsize=8)
def _hierarchy_names(root: str) -> tuple[str, ...]:
    # hierarchies are mounted at boot and do not change under us: look once per process
    out, seen = [], set()
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return ()
    for name in names:
        p = os.path.join(root, name)
        if name == "unified" or os.path.islink(p) or not os.path.exists(os.path.join(p, "cgroup.procs")):
            continue
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            out.append(name)
    return tuple(out)


class CgroupV1(Cgroup):
    def __init__(self, root: Path, rel: str) -> None:
        self.root = Path(root)
        self.rel = rel

    def hierarchies(self) -> dict[str, Path]:
        """Controller dir name -> hierarchy mount (deduplicated, e.g. cpu,cpuacct links)."""
        return {name: self.root / name for name in _hierarchy_names(str(self.root))}

    def dirs(self) -> dict[str, Path]:
        return {name: h / self.rel for name, h in self.hierarchies().items()}

    def existing(self) -> dict[str, Path]:
        """The hierarchies this container was created in."""
        return {name: d for name, d in self.dirs().items() if d.is_dir()}

    def _dir(self, ctrl: str) -> Path | None:
        for name, d in self.existing().items():
            if ctrl in name.split(","):
                return d
        return None

    @staticmethod
    def wanted(resources: dict) -> set[str]:
        want = set(ALWAYS)
        cpu = resources.get("cpu") or {}
        if cpu.get("cpus") or cpu.get("mems"):
            want.add("cpuset")
        if resources.get("blockIO"):
            want.add("blkio")
        return want

    def planned(self, resources: dict) -> dict[str, Path]:
        """The hierarchies (name -> dir) that create(resources) makes, known beforehand."""
        want = self.wanted(resources or {})
        return {name: d for name, d in self.dirs().items() if want & set(name.split(","))}

    def make(self, resources: dict) -> None:
        for name, d in self.planned(resources or {}).items():
            mkdir(d)
            if "cpuset" in name.split(","):
                self._inherit_cpuset(d)

    def create(self, resources: dict) -> None:
        self.make(resources)
        self._apply(resources or {})

    def _inherit_cpuset(self, d: Path) -> None:
        # a fresh v1 cpuset is empty and refuses tasks: copy cpus/mems down from the nearest parent
        hier = self.hierarchies()
        base = next(h for n, h in hier.items() if "cpuset" in n.split(","))
        chain = []
        p = d
        while p != base and p != p.parent:
            chain.append(p)
            p = p.parent
        for cg in reversed(chain):
            for f in ("cpuset.cpus", "cpuset.mems"):
                if (cg / f).exists() and not (cg / f).read_text().strip():
                    write(cg / f, (cg.parent / f).read_text().strip())

    def _apply(self, res: dict) -> None:
        dd = self._dir("devices")
        if dd is not None:
            # deny everything, then allow the listed rules in order, as runc does on v1
            # (runs of allow or deny rules go through one open file each)
            rules = [(False, "a")] + [(bool(r.get("allow")), device_rule(r)) for r in res.get("devices") or []]
            rules += [(True, device_rule(r)) for r in RUNC_ALLOWED_DEVICES]
            lines = [(allow, line) for allow, line in rules if line]
            while lines:
                allow = lines[0][0]
                run = 0
                while run < len(lines) and lines[run][0] == allow:
                    run += 1
                write_each(dd / ("devices.allow" if allow else "devices.deny"), [line for _, line in lines[:run]])
                lines = lines[run:]
        self._apply_limits(res)

    def update_limits(self, res: dict) -> None:
        self._apply_limits(res)

    def _apply_limits(self, res: dict) -> None:
        mem = res.get("memory") or {}
        md = self._dir("memory")
        if md is not None and mem.get("limit") is not None:
            memsw = md / "memory.memsw.limit_in_bytes"
            swap = mem.get("swap") if memsw.exists() else None
            order = [(md / "memory.limit_in_bytes", mem["limit"]), (memsw, swap)]
            try:
                growing = int(mem["limit"]) > int((md / "memory.limit_in_bytes").read_text())
            except (OSError, ValueError):
                growing = False
            # memory+swap may never be below memory: raise it first when memory grows
            for f, v in (reversed(order) if growing else order):
                if v is not None:
                    write(f, str(v))
        if md is not None and mem.get("reservation") is not None:
            write(md / "memory.soft_limit_in_bytes", str(mem["reservation"]))
        if md is not None and mem.get("swappiness") is not None:
            write(md / "memory.swappiness", str(mem["swappiness"]))
        if md is not None and mem.get("disableOOMKiller"):
            write(md / "memory.oom_control", "1")
        cpu = res.get("cpu") or {}
        cd = self._dir("cpu")
        if cd is not None:
            if cpu.get("shares"):
                write(cd / "cpu.shares", str(cpu["shares"]))
            if cpu.get("period"):
                write(cd / "cpu.cfs_period_us", str(cpu["period"]))
            if cpu.get("quota"):
                write(cd / "cpu.cfs_quota_us", str(cpu["quota"]))
            if cpu.get("realtimePeriod") or cpu.get("realtimeRuntime"):
                self._realtime(cd, cpu.get("realtimePeriod"), cpu.get("realtimeRuntime"))
        sd = self._dir("cpuset")
        if sd is not None:
            if cpu.get("cpus"):
                write(sd / "cpuset.cpus", cpu["cpus"])
            if cpu.get("mems"):
                write(sd / "cpuset.mems", cpu["mems"])
        weight = (res.get("blockIO") or {}).get("weight")
        bd = self._dir("blkio")
        if bd is not None and weight:
            name = "blkio.weight" if (bd / "blkio.weight").exists() else "blkio.bfq.weight"
            write(bd / name, str(weight))
        if bd is not None:
            write_block_io(bd, res.get("blockIO") or {})
        pids = res.get("pids") or {}
        pd = self._dir("pids")
        if pd is not None and pids.get("limit") is not None:
            limit = int(pids["limit"])
            write(pd / "pids.max", "max" if limit <= 0 else str(limit))

    def _realtime(self, cd: Path, period: int | None, runtime: int | None) -> None:
        """cpu.rt_period_us / cpu.rt_runtime_us. The RT shares (runtime/period) of a group's
        children must fit in its own, and a new group's parents (e.g. /sampan) have none:
        give each parent, from the top down, its other children's shares plus the one asked
        where it has less (Docker's daemon gives its parent a fixed --cpu-rt-runtime)."""
        if period:
            write(cd / "cpu.rt_period_us", str(period))
        if not runtime or runtime < 0:
            return
        share = runtime / int(period or _read_int(cd / "cpu.rt_period_us") or 1_000_000)
        hier = next(h for n, h in self.hierarchies().items() if "cpu" in n.split(","))
        chain = []  # the parents, nearest first, with the share each must hold
        below, p = cd, cd.parent
        while p != hier and p != p.parent:
            share += sum(_rt_share(c) for c in _child_dirs(p) if c != below)
            chain.append((p, share))
            below, p = p, p.parent
        for parent, needed in reversed(chain):
            have = _read_int(parent / "cpu.rt_runtime_us")
            parent_period = _read_int(parent / "cpu.rt_period_us") or 1_000_000
            need = -(-int(needed * parent_period * 1000) // 1000)  # rounded up
            if have is not None and 0 <= have < need:
                write(parent / "cpu.rt_runtime_us", str(need))
        write(cd / "cpu.rt_runtime_us", str(runtime))

    def join(self, pid: int) -> None:
        for d in self.existing().values():
            write(d / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        d = self._dir("pids") or self._dir("memory") or next(iter(self.existing().values()), None)
        return read_pids(d / "cgroup.procs") if d else []

    def oom_killed(self) -> bool:
        md = self._dir("memory")
        return md is not None and read_keyed(md / "memory.oom_control").get("oom_kill", 0) > 0

    def exists(self) -> bool:
        return bool(self.existing())

    def remove(self) -> None:
        kill_and_remove(list(self.existing().values()))

    def mount_sources(self, resources: dict | None = None) -> dict[str, str]:
        """For the container's /sys/fs/cgroup: joined hierarchy name -> cgroup mount options.
        With resources: those that create(resources) will make (the child is forked first)."""
        names = self.existing() if resources is None else self.planned(resources)
        return {name: ("none,name=" + name if name == "systemd" else name) for name in names}


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def device_rule(rule: dict) -> str | None:
    """OCI linux.resources.devices entry -> 'c 1:3 rwm' (None when it names nothing)."""
    kind = rule.get("type") or "a"
    if kind == "a":
        return "a"
    major = "*" if rule.get("major") in (None, -1) else str(rule["major"])
    minor = "*" if rule.get("minor") in (None, -1) else str(rule["minor"])
    return f"{kind} {major}:{minor} {rule.get('access') or 'rwm'}"


THROTTLE_FILES = (("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
                  ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
                  ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
                  ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"))


def write_block_io(bd: Path, bio: dict) -> None:
    """Per-device weights and throttles: one 'MAJOR:MINOR VALUE' line per write."""
    weights = bio.get("weightDevice") or []
    if weights:
        name = "blkio.weight_device" if (bd / "blkio.weight_device").exists() else "blkio.bfq.weight_device"
        write_each(bd / name, [f"{d['major']}:{d['minor']} {d['weight']}" for d in weights], limits=True)
    for field, name in THROTTLE_FILES:
        devices = bio.get(field) or []
        if devices:
            write_each(bd / name, [f"{d['major']}:{d['minor']} {d['rate']}" for d in devices], limits=True)


def _child_dirs(d: Path) -> list[Path]:
    try:
        return [c for c in d.iterdir() if c.is_dir()]
    except OSError:
        return []


def _rt_share(d: Path) -> float:
    """A group's RT bandwidth (runtime/period); 0 for none."""
    runtime, period = _read_int(d / "cpu.rt_runtime_us"), _read_int(d / "cpu.rt_period_us")
    return runtime / period if runtime and runtime > 0 and period else 0.0
