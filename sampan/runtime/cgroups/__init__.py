"""Container cgroups: v1 (a dir per controller) or v2 (unified), chosen by detection."""

from __future__ import annotations

import os
from pathlib import Path

from sampan.runtime.cgroups.base import Cgroup
from sampan.runtime.cgroups.v1 import CgroupV1
from sampan.runtime.cgroups.v2 import CgroupV2

DEFAULT_ROOT = Path("/sys/fs/cgroup")


def is_v2(root: Path = DEFAULT_ROOT) -> bool:
    return (root / "cgroup.controllers").exists()


def hierarchy(root: Path = DEFAULT_ROOT) -> str:
    """Which cgroup layout the host has, in words for `info`: unified (pure v2), hybrid
    (v1 controllers beside an empty v2 tree, as systemd's hybrid mode), or legacy (v1 only)."""
    if is_v2(root):
        return "unified"
    return "hybrid" if (root / "unified" / "cgroup.controllers").exists() else "legacy"


def controllers(root: Path = DEFAULT_ROOT) -> list[str]:
    """The controllers containers can use: v2's root cgroup.controllers, or v1's mounted trees."""
    if is_v2(root):
        try:
            return (root / "cgroup.controllers").read_text().split()
        except OSError:
            return []
    try:
        return sorted(n for n in os.listdir(root) if n != "unified" and not os.path.islink(root / n)
                      and (root / n / "cgroup.procs").exists() and "," not in n and n != "systemd")
    except OSError:
        return []


def blkio_weight_file(root: Path = DEFAULT_ROOT) -> str | None:
    """Which file a container's block IO weight would go to, None when this kernel cannot
    take one: v1 blkio.weight (CFQ/BFQ era); v2 io.bfq.weight (BFQ loaded) or io.weight
    (the iocost controller, whose root-only io.cost.qos tells it is built in)."""
    if is_v2(root):
        if "io" not in controllers(root):
            return None
        if any("bfq" in _read(p) for p in Path("/sys/block").glob("*/queue/scheduler")):
            return "io.bfq.weight"
        return "io.weight" if (root / "io.cost.qos").exists() else None
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if (root / "blkio" / name).exists():
            return name
    return None


def _read(p: Path) -> str:
    try:
        return p.read_text()
    except OSError:
        return ""


def open_cgroup(path: str, root: Path = DEFAULT_ROOT) -> Cgroup:
    """The cgroup at `path` (e.g. /sampan/ID), relative to the hierarchy root(s)."""
    rel = os.path.normpath("/" + path).lstrip("/")
    return CgroupV2(root, rel) if is_v2(root) else CgroupV1(root, rel)


__all__ = ["Cgroup", "CgroupV1", "CgroupV2", "open_cgroup", "is_v2", "hierarchy", "controllers", "blkio_weight_file"]
