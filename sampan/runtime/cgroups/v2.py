"""cgroup v2: one unified tree; controllers enabled through each parent's subtree_control."""

from __future__ import annotations

from pathlib import Path

from sampan.errors import KernelFeatureMissing, SampanError
from sampan.runtime.cgroups.base import (RUNC_ALLOWED_DEVICES, Cgroup, kill_and_remove, mkdir,
                                         read_keyed, read_pids, write, write_each)

WANTED = ("cpu", "cpuset", "memory", "pids", "io")
REQUIRED = ("memory", "pids")  # limits and kill-all/OOM reporting depend on these


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares [2, 262144] -> v2 cpu.weight [1, 10000], as runc converts."""
    return 1 + ((int(shares) - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """v1 blkio.weight [10, 1000] -> v2 io.weight [1, 10000], as runc converts."""
    return 1 + ((int(weight) - 10) * 9999) // 990


def _attach_devices(cgroup_dir: str, rules: list[dict]) -> None:
    from sampan.runtime.cgroups.devices_bpf import attach  # BPF only when a cgroup is made
    attach(cgroup_dir, rules)


IO_MAX_KEYS = (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
               ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops"))


def io_max_lines(bio: dict) -> list[str]:
    """v1's four throttle lists as io.max lines, one per device: 'MAJ:MIN rbps=N wiops=N'."""
    per_device: dict[str, list[str]] = {}
    for field, key in IO_MAX_KEYS:
        for d in bio.get(field) or []:
            per_device.setdefault(f"{d['major']}:{d['minor']}", []).append(f"{key}={d['rate']}")
    return [f"{dev} {' '.join(keys)}" for dev, keys in per_device.items()]


def write_io_devices(path: Path, bio: dict) -> None:
    """Per-device weights (io.bfq.weight with v1's range, else iocost's io.weight, as runc)
    and io.max throttles; one line per write."""
    weights = bio.get("weightDevice") or []
    if weights:
        bfq = (path / "io.bfq.weight").exists()
        lines = [f"{d['major']}:{d['minor']} {d['weight'] if bfq else blkio_to_io_weight(d['weight'])}"
                 for d in weights]
        write_each(path / ("io.bfq.weight" if bfq else "io.weight"), lines, limits=True)
    lines = io_max_lines(bio)
    if lines:
        write_each(path / "io.max", lines, limits=True)


class CgroupV2(Cgroup):
    attach_devices = staticmethod(_attach_devices)  # a seam for tests on a fake tree

    def __init__(self, root: Path, rel: str) -> None:
        self.root = Path(root)
        self.rel = rel
        self.path = self.root / rel

    def _enable_controllers(self) -> None:
        available = set((self.root / "cgroup.controllers").read_text().split())
        for c in REQUIRED:
            if c not in available:
                raise KernelFeatureMissing(
                    f"the cgroup v2 {c} controller is not available in {self.root} (not in its "
                    f"cgroup.controllers): boot without cgroup_disable={c}, or run sampan where it is delegated")
        wanted = [c for c in WANTED if c in available]
        parent = self.root
        for part in Path(self.rel).parts[:-1] or ():
            self._enable_in(parent, wanted)
            parent = parent / part
            mkdir(parent)
        self._enable_in(parent, wanted)

    @staticmethod
    def _enable_in(d: Path, wanted: list[str]) -> None:
        control = d / "cgroup.subtree_control"
        current = set(control.read_text().split()) if control.exists() else set()
        for c in wanted:
            if c in current:
                continue
            try:  # one at a time: a controller the host keeps for itself must not block the others
                write(control, "+" + c)
            except SampanError as e:
                if c in REQUIRED:
                    raise KernelFeatureMissing(
                        f"cannot enable the cgroup v2 {c} controller for containers ({e}): "
                        f"enable it with `echo +{c} > {control}` (and in each parent group above)") from None

    def make(self, resources: dict) -> None:
        self._enable_controllers()
        mkdir(self.path)

    def create(self, resources: dict) -> None:
        self.make(resources)
        self._apply(resources or {})

    def _apply(self, res: dict) -> None:
        # as on v1 and under runc: deny all, the spec's rules, then runc's always-allowed list
        self.attach_devices(str(self.path), [{"allow": False, "access": "rwm"}, *(res.get("devices") or []),
                                             *RUNC_ALLOWED_DEVICES])
        self._apply_limits(res)

    def update_limits(self, res: dict) -> None:
        self._apply_limits(res)

    def _apply_limits(self, res: dict) -> None:
        mem = res.get("memory") or {}
        limit = mem.get("limit")
        if limit is not None:
            write(self.path / "memory.max", "max" if int(limit) < 0 else str(limit))
            swap = mem.get("swap")
            if swap is not None:
                # OCI swap is memory+swap (v1 memsw); v2 counts swap alone
                value = "max" if int(swap) < 0 else str(max(int(swap) - int(limit), 0))
                write(self.path / "memory.swap.max", value)
        if mem.get("reservation") is not None:
            write(self.path / "memory.low", str(mem["reservation"]))
        cpu = res.get("cpu") or {}
        if cpu.get("quota") or cpu.get("period"):
            quota = cpu.get("quota")
            q = "max" if not quota or int(quota) < 0 else str(quota)
            write(self.path / "cpu.max", f"{q} {cpu.get('period') or 100000}")
        if cpu.get("shares"):
            write(self.path / "cpu.weight", str(shares_to_weight(cpu["shares"])))
        if cpu.get("cpus"):
            write(self.path / "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            write(self.path / "cpuset.mems", cpu["mems"])
        weight = (res.get("blockIO") or {}).get("weight")
        if weight:
            # BFQ's weight has v1's range; iocost's io.weight is wider (as runc chooses)
            if (self.path / "io.bfq.weight").exists():
                write(self.path / "io.bfq.weight", str(weight))
            else:
                write(self.path / "io.weight", str(blkio_to_io_weight(weight)))
        write_io_devices(self.path, res.get("blockIO") or {})
        if cpu.get("realtimePeriod") or cpu.get("realtimeRuntime"):
            raise KernelFeatureMissing("cgroup v2 has no real-time CPU scheduling groups: "
                                       "--cpu-rt-period and --cpu-rt-runtime need cgroup v1")
        pids = res.get("pids") or {}
        if pids.get("limit") is not None:
            limit = int(pids["limit"])
            write(self.path / "pids.max", "max" if limit <= 0 else str(limit))

    def join(self, pid: int) -> None:
        write(self.path / "cgroup.procs", str(pid))

    def pids(self) -> list[int]:
        return read_pids(self.path / "cgroup.procs")

    def oom_killed(self) -> bool:
        return read_keyed(self.path / "memory.events").get("oom_kill", 0) > 0

    def exists(self) -> bool:
        return self.path.exists()

    def remove(self) -> None:
        if self.path.exists():
            kill_and_remove([self.path])
