"""Where a container's cgroup is on this host's hierarchy: v1 (a tree per controller) or
v2 (one unified tree), so that a test checks the same thing on both (scripts/test-vm runs
the suite on a pure v2 guest; this development host is v1 hybrid)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V2 = (ROOT / "cgroup.controllers").exists()
VERSION = 2 if V2 else 1


def procs_file(rel: str) -> Path:
    """The cgroup.procs that lists the container's processes (v1: the pids controller's)."""
    rel = rel.strip("/")
    return ROOT / rel / "cgroup.procs" if V2 else ROOT / "pids" / rel / "cgroup.procs"


def dirs(rel: str) -> list[Path]:
    """Every directory the cgroup at `rel` has on this host (one on v2, one per controller on v1)."""
    rel = rel.strip("/")
    return [p for p in ([ROOT / rel] if V2 else ROOT.glob(f"*/{rel}")) if p.is_dir()]


def parents_named(name: str) -> list[Path]:
    """The parent groups called `name` (e.g. sampan-test) at the top of the hierarchy."""
    return dirs(name)


def remove_tree(name: str, timeout: float = 10.0) -> None:
    """Remove the groups under `name` at the top of each hierarchy, deepest first: what a
    test's --cgroup-parent made (Docker too leaves a parent in place). A container's own
    group may still be going away a moment after `rm -f` answered: retry until then."""
    import os
    import time
    deadline = time.monotonic() + timeout
    while True:
        for top in dirs(name):
            for here, _, _ in os.walk(top, topdown=False):
                try:
                    os.rmdir(here)
                except OSError:
                    pass
        if not dirs(name) or time.monotonic() > deadline:
            assert not dirs(name), f"cgroups left under {name}: {dirs(name)}"
            return
        time.sleep(0.05)


_AT_START: dict[str, str] = {}


def remember_rt_budget(parent: str = "sampan") -> None:
    """Note the parent's RT runtime before any test runs (tests/conftest.py, per worker):
    a test that read it only when it began could see another worker's RT test's share and
    put that back at its end (seen: 10000 left on /sampan after a parallel run)."""
    f = ROOT / "cpu" / parent / "cpu.rt_runtime_us"
    _AT_START.setdefault(parent, f.read_text().strip() if f.exists() else "0")


@contextlib.contextmanager
def rt_budget_restored(parent: str = "sampan"):
    """Give the v1 cpu parent its RT runtime back after a test that ran RT containers (the
    engine raises it as they need, as Docker's daemon keeps one for its parent): the host is
    left as found. Best effort while another test's RT container still holds a share."""
    f = ROOT / "cpu" / parent / "cpu.rt_runtime_us"
    before = _AT_START.get(parent) or (f.read_text().strip() if f.exists() else "0")
    try:
        yield
    finally:
        deadline = time.monotonic() + 10
        while f.exists():
            try:
                f.write_text(before)
                break
            except OSError:  # EBUSY: a child still holds RT time
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
