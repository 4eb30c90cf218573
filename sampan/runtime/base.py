"""The runtime interface: the verbs of runc over an OCI bundle.

The caller (engine monitor or CLI) calls become_subreaper() and then create();
the container's init process ends up as the caller's child with either
implementation, so the caller reaps it with os.waitpid and computes the exit
code itself. Exec'd processes work the same way.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sampan.errors import InvalidArgument, RuntimeFailure

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Stdio:
    """File descriptors the container's process gets (None -> /dev/null)."""

    stdin: int | None = None
    stdout: int | None = None
    stderr: int | None = None
    terminal: bool = False  # the runtime makes a pty; its slave is the stdio and controlling tty


@dataclass
class Created:
    pid: int
    pty_master: int | None = None  # master fd when terminal; the caller owns (closes) it


@dataclass
class RuntimeState:
    id: str
    status: str  # 'created' | 'running' | 'stopped'
    pid: int
    bundle: str


class OCIRuntime(Protocol):
    name: str

    def create(self, cid: str, bundle: Path, stdio: Stdio) -> Created: ...
    def start(self, cid: str) -> None: ...
    def state(self, cid: str) -> RuntimeState: ...
    def kill(self, cid: str, sig: int, all: bool = False) -> None: ...
    def delete(self, cid: str, force: bool = False) -> None:
        """Remove the runtime state and the cgroup (killing what is left in it). A created
        container is killed; a running one needs force."""
    def exec(self, cid: str, process: dict, stdio: Stdio, detach: bool = False) -> Created:
        """Start `process` (an OCI process object) in the running container. Both runtimes
        return as soon as it runs, as the caller's child; `detach` only records intent.
        Missing capabilities/noNewPrivileges/rlimits are taken from the container's."""
    def oom_killed(self, cid: str) -> bool:
        """Did the OOM killer kill something in the container's cgroup? Ask before delete()."""


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


def become_subreaper() -> None:
    """Orphaned descendants (a container init after `runc create`) are reparented to us."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise RuntimeFailure(f"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
