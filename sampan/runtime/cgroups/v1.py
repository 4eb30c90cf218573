"""cgroup v1: one directory per controller under /sys/fs/cgroup/<ctrl>/<path>."""

from __future__ import annotations

import os
from pathlib import Path

from sampan.runtime.cgroups.base import Cgroup, kill_and_remove, read_keyed, read_pids, write


class CgroupV1(Cgroup):
    def __init__(self, root: Path, rel: str) -> None:
        self.root = Path(root)
        self.rel = rel

    def hierarchies(self) -> dict[str, Path]:
        """Controller dir name -> hierarchy mount (deduplicated, e.g. cpu,cpuacct links)."""
        out: dict[str, Path] = {}
        seen = set()
        try:
            names = sorted(os.listdir(self.root))
        except OSError:
            return out
        for name in names:
            p = self.root / name
            if name == "unified" or p.is_symlink() or not (p / "cgroup.procs").exists():
                continue
            real = os.path.realpath(p)
            if real not in seen:
                seen.add(real)
                out[name] = p
        return out

    def dirs(self) -> dict[str, Path]:
        return {name: h / self.rel for name, h in self.hierarchies().items()}

    def _dir(self, ctrl: str) -> Path | None:
        for name, d in self.dirs().items():
            if ctrl in name.split(","):
                return d
        return None

    def create(self, resources: dict) -> None:
        for name, d in self.dirs().items():
            d.mkdir(parents=True, exist_ok=True)
            if "cpuset" in name.split(","):
                self._inherit_cpuset(d)
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
        mem = res.get("memory") or {}
        md = self._dir("memory")
        if md is not None and mem.get("limit") is not None:
            write(md / "memory.limit_in_bytes", str(mem["limit"]))
            if mem.get("swap") is not None and (md / "memory.memsw.limit_in_bytes").exists():
                write(md / "memory.memsw.limit_in_bytes", str(mem["swap"]))
        if md is not None and mem.get("reservation") is not None:
            write(md / "memory.soft_limit_in_bytes", str(mem["reservation"]))
        cpu = res.get("cpu") or {}
        cd = self._dir("cpu")
        if cd is not None:
            if cpu.get("shares"):
                write(cd / "cpu.shares", str(cpu["shares"]))
            if cpu.get("period"):
                write(cd / "cpu.cfs_period_us", str(cpu["period"]))
            if cpu.get("quota"):
                write(cd / "cpu.cfs_quota_us", str(cpu["quota"]))
        sd = self._dir("cpuset")
        if sd is not None:
            if cpu.get("cpus"):
                write(sd / "cpuset.cpus", cpu["cpus"])
            if cpu.get("mems"):
                write(sd / "cpuset.mems", cpu["mems"])
        pids = res.get("pids") or {}
        pd = self._dir("pids")
        if pd is not None and pids.get("limit") is not None:
            limit = int(pids["limit"])
            write(pd / "pids.max", "max" if limit <= 0 else str(limit))

    def join(self, pid: int) -> None:
        for d in self.dirs().values():
            write(d / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        d = self._dir("pids") or self._dir("memory") or next(iter(self.dirs().values()), None)
        return read_pids(d / "cgroup.procs") if d else []

    def oom_killed(self) -> bool:
        md = self._dir("memory")
        return md is not None and read_keyed(md / "memory.oom_control").get("oom_kill", 0) > 0

    def exists(self) -> bool:
        return any(d.exists() for d in self.dirs().values())

    def remove(self) -> None:
        kill_and_remove([d for d in self.dirs().values() if d.exists()])

    def mount_sources(self) -> dict[str, str]:
        """For the container's /sys/fs/cgroup: hierarchy name -> mount options of that hierarchy."""
        return {name: ("none,name=" + name if name == "systemd" else name) for name in self.hierarchies()}
