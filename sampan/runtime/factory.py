"""The runtime by name: the one module that knows every implementation (base.py knows none,
so native.py and runc.py import base.py without a cycle)."""

from __future__ import annotations

from pathlib import Path

from sampan.errors import InvalidArgument
from sampan.runtime.base import OCIRuntime


def get_runtime(name: str, state_dir: Path) -> OCIRuntime:
    """'native' (default) | 'runc' | 'crun'; state_dir is like `runc --root`."""
    name = name or "native"
    if name == "native":
        from sampan.runtime.native import NativeRuntime
        return NativeRuntime(Path(state_dir))
    if name in ("runc", "crun"):
        from sampan.runtime.runc import RuncRuntime
        return RuncRuntime(Path(state_dir), binary=name)
    raise InvalidArgument(f"unknown runtime {name!r}: use native, runc or crun")
