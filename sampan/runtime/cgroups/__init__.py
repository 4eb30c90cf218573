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


def open_cgroup(path: str, root: Path = DEFAULT_ROOT) -> Cgroup:
    """The cgroup at `path` (e.g. /sampan/ID), relative to the hierarchy root(s)."""
    rel = os.path.normpath("/" + path).lstrip("/")
    return CgroupV2(root, rel) if is_v2(root) else CgroupV1(root, rel)


__all__ = ["Cgroup", "CgroupV1", "CgroupV2", "open_cgroup", "is_v2"]
