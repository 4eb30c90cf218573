"""Freezing a container's cgroup (`pause`): v1's freezer controller, v2's cgroup.freeze.

v1: the native runtime does not join the freezer hierarchy at start (each hierarchy
joined costs the run path ~1 ms), so the first freeze makes the container's freezer
cgroup and moves its processes there, again until none is left outside (a process
forked meanwhile by one not yet moved), then writes FROZEN and waits for the state
to leave FREEZING. Later execs and the removal see the freezer dir like any other.
v2: write 1 to cgroup.freeze and wait for `frozen 1` in cgroup.events.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sampan.errors import InvalidState, RuntimeFailure
from sampan.runtime.cgroups.base import Cgroup, mkdir, read_keyed, read_pids, write

TIMEOUT = 10.0


def _freezer_dir(cg) -> Path | None:
    """The v1 container's freezer dir (made or not), None when no freezer hierarchy exists."""
    for name, d in cg.dirs().items():
        if "freezer" in name.split(","):
            return d
    return None


def is_frozen_path(root: Path, rel: str) -> bool:
    """Cheap (a file read, no listing): is the cgroup `rel` frozen? For `ps` and `inspect`."""
    if (root / "cgroup.controllers").exists():
        try:
            return (root / rel / "cgroup.freeze").read_text().strip() == "1"
        except OSError:
            return False
    for name in ("freezer", "cpuset,freezer"):
        try:
            state = (root / name / rel / "freezer.state").read_text().strip()
        except OSError:
            continue
        return state in ("FROZEN", "FREEZING")
    return False


def freeze(cg: Cgroup, timeout: float = TIMEOUT) -> None:
    from sampan.runtime.cgroups.v2 import CgroupV2
    if isinstance(cg, CgroupV2):
        write(cg.path / "cgroup.freeze", "1")
        _wait(lambda: read_keyed(cg.path / "cgroup.events").get("frozen") == 1, timeout,
              "the cgroup did not report frozen")
        return
    fd = _freezer_dir(cg)
    if fd is None:
        raise InvalidState("cannot pause: this host has no cgroup v1 freezer hierarchy")
    mkdir(fd)
    _gather(cg, fd)
    write(fd / "freezer.state", "FROZEN")

    def done() -> bool:
        state = (fd / "freezer.state").read_text().strip()
        if state == "FREEZING":  # a task in an uninterruptible sleep: ask again
            write(fd / "freezer.state", "FROZEN")
        return state == "FROZEN"
    try:
        _wait(done, timeout, "the freezer stayed FREEZING")
    except RuntimeFailure:
        write(fd / "freezer.state", "THAWED")
        raise


def thaw(cg: Cgroup) -> None:
    from sampan.runtime.cgroups.v2 import CgroupV2
    if isinstance(cg, CgroupV2):
        if cg.path.exists():
            write(cg.path / "cgroup.freeze", "0")
            _wait(lambda: read_keyed(cg.path / "cgroup.events").get("frozen") == 0, TIMEOUT,
                  "the cgroup did not report thawed")
        return
    fd = _freezer_dir(cg)
    if fd is not None and fd.is_dir():
        write(fd / "freezer.state", "THAWED")
        _wait(lambda: (fd / "freezer.state").read_text().strip() == "THAWED", TIMEOUT,
              "the freezer did not thaw")


def _gather(cg, freezer: Path) -> None:
    """Move every process of the container into its freezer cgroup, until none is left out."""
    others = {name: d for name, d in cg.existing().items() if "freezer" not in name.split(",")}
    src = next((d for name, d in others.items() if "pids" in name.split(",")), None) or \
        next(iter(others.values()), None)
    if src is None:
        return
    for _ in range(100):
        inside = set(read_pids(freezer / "cgroup.procs"))
        missing = [p for p in read_pids(src / "cgroup.procs") if p not in inside]
        if not missing:
            return
        for pid in missing:
            try:
                write(freezer / "cgroup.procs", str(pid))
            except RuntimeFailure:
                if os.path.exists(f"/proc/{pid}"):
                    raise  # exited meanwhile is fine; anything else is not
    raise RuntimeFailure("cannot pause: the container forks faster than it can be gathered")


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"{what} within {timeout:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
