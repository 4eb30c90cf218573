"""What both cgroup versions provide, and the shared file helpers."""

from __future__ import annotations

import errno
import os
import signal
import time
from abc import ABC, abstractmethod
from pathlib import Path

from sampan.errors import KernelFeatureMissing, RuntimeFailure
from sampan.state import explain


def _rule(kind: str, major: int | None, minor: int | None, access: str) -> dict:
    return {"allow": True, "type": kind, "major": major, "minor": minor, "access": access}


# what runc allows after the spec's device rules: mknod of anything, the standard devices,
# ptmx and the pty slaves, tun
RUNC_ALLOWED_DEVICES = [
    _rule("c", None, None, "m"), _rule("b", None, None, "m"),
    *(_rule("c", 1, minor, "rwm") for minor in (3, 5, 7, 8, 9)),
    _rule("c", 5, 0, "rwm"), _rule("c", 5, 2, "rwm"), _rule("c", 136, None, "rwm"), _rule("c", 10, 200, "rwm"),
]


def write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except FileNotFoundError:
        raise KernelFeatureMissing(f"cgroup file {path} is missing: is that controller enabled?") from None
    except OSError as e:
        raise RuntimeFailure(f"cannot write {value!r} to {path}: {e.strerror}") from None
    if path.name != "cgroup.procs" and explain.on():  # a join is explained once, by the runtime
        explain.explain("cgroup limit", f"{path} = {value}")


def write_each(path: Path, values: list[str], limits: bool = False) -> None:
    """Write each value as a write(2) of its own through one open file: a cgroup control
    file such as devices.allow takes one rule per write, and reopening it for each of a
    dozen rules cost ~0.1 ms apiece. ``limits``: per-device limit lines (blkio, io.max),
    shown as values by --explain."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KernelFeatureMissing(f"cgroup file {path} is missing: is that controller enabled?") from None
    except OSError as e:
        raise RuntimeFailure(f"cannot open {path}: {e.strerror}") from None
    try:
        for value in values:
            try:
                os.write(fd, value.encode())
            except OSError as e:
                raise RuntimeFailure(f"cannot write {value!r} to {path}: {e.strerror}") from None
    finally:
        os.close(fd)
    if explain.on():
        if limits:  # per-device limits: each line, as write() shows a value
            explain.explain("cgroup limit", f"{path} = {'; '.join(values)}")
        else:
            explain.explain("cgroup devices", f"{path}: {len(values)} rule(s)")


def mkdir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RuntimeFailure(f"cannot create cgroup {path}: {e.strerror}") from None


def read_keyed(path: Path) -> dict[str, int]:
    """Parse 'key value' lines (memory.events, memory.oom_control)."""
    out: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def read_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in path.read_text().split()]
    except OSError:
        return []


def kill_and_remove(dirs: list[Path], timeout: float = 5.0) -> None:
    """SIGKILL everything left in the cgroup dirs, then rmdir them (a dying task keeps it busy a moment).
    Where the kernel has cgroup.kill (v2, Linux 5.14) one write kills the whole group at once,
    even a process that forks while it is being killed; elsewhere pid by pid, until none is left."""
    deadline = time.monotonic() + timeout
    for d in dirs:
        try:
            fd = os.open(d / "cgroup.kill", os.O_WRONLY)  # never O_CREAT: only the kernel's file
        except OSError:
            fd = -1  # v1, an older kernel, or already gone
        if fd >= 0:
            try:
                os.write(fd, b"1")
            except OSError:
                pass
            finally:
                os.close(fd)
        while d.exists():
            for pid in read_pids(d / "cgroup.procs"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(d)
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise RuntimeFailure(f"cannot remove cgroup {d}: {e.strerror}") from None
                time.sleep(0.005)


class Cgroup(ABC):
    """One container's cgroup."""

    @abstractmethod
    def make(self, resources: dict) -> None:
        """Make the cgroup's directories only (idempotent): no limits yet."""

    @abstractmethod
    def create(self, resources: dict) -> None:
        """Make the cgroup and apply linux.resources (memory, cpu, pids)."""

    @abstractmethod
    def update_limits(self, resources: dict) -> None:
        """Write linux.resources' limits into the existing cgroup (`update`): devices stay."""

    @abstractmethod
    def join(self, pid: int) -> None:
        """Move pid (0 = the caller) into the cgroup."""

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def oom_killed(self) -> bool: ...

    @abstractmethod
    def remove(self) -> None:
        """Kill leftover processes and remove the cgroup; fine if it is already gone."""

    @abstractmethod
    def exists(self) -> bool: ...
