"""Where sampan keeps its state. Nothing is created at import time.

A plain class, not a dataclass: every `run` imports this, and `dataclasses`
costs ~10 ms to import (inspect, ast, dis).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ROOT = "/var/lib/sampan"
DEFAULT_RUNROOT = "/run/sampan"
# Root and run root are root's alone: they hold the database, every container's config
# (its -e environment) and logs. 0700, not Docker's 0710: Docker needs the group bit for
# its user-namespace-remapped root; nothing that is not host root ever walks these paths
# here (a container sees only its rootfs after pivot_root; overlayfs reaches lower and
# upper dirs with the mounter's credentials; bind mounts are made by root).
PRIVATE_DIR = 0o700
# Present once every file of the root has its private mode (see state/private.py).
MODES_MARK = ".modes-v1"


class Paths:
    __slots__ = ("root", "runroot")

    def __init__(self, root: Path, runroot: Path) -> None:
        self.root = root
        self.runroot = runroot

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Paths):
            return NotImplemented
        return (self.root, self.runroot) == (other.root, other.runroot)

    def __hash__(self) -> int:
        return hash((self.root, self.runroot))

    def __repr__(self) -> str:
        return f"Paths(root={self.root!r}, runroot={self.runroot!r})"

    @classmethod
    def from_env(cls, root: str | os.PathLike | None = None,
                 runroot: str | os.PathLike | None = None) -> "Paths":
        root = root or os.environ.get("SAMPAN_ROOT") or DEFAULT_ROOT
        runroot = runroot or os.environ.get("SAMPAN_RUNROOT") or DEFAULT_RUNROOT
        return cls(Path(root).absolute(), Path(runroot).absolute())

    # --- persistent state (root) ---
    @property
    def blobs(self) -> Path:
        """OCI layout blob dir: blobs/sha256/<hex>."""
        return self.root / "blobs" / "sha256"

    @property
    def layers(self) -> Path:
        """Unpacked layers, one dir per chain id (hex)."""
        return self.root / "layers"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    def container_dir(self, cid: str) -> Path:
        return self.containers / cid

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def db(self) -> Path:
        return self.root / "sampan.db"

    @property
    def tmp(self) -> Path:
        """Scratch space on the same filesystem as the store, so renames are atomic."""
        return self.root / "tmp"

    @property
    def index_json(self) -> Path:
        return self.root / "index.json"

    @property
    def oci_layout(self) -> Path:
        return self.root / "oci-layout"

    # --- run state (runroot, tmpfs, gone after reboot) ---
    @property
    def locks(self) -> Path:
        return self.runroot / "locks"

    @property
    def runtime_state(self) -> Path:
        """Where the OCI runtime keeps its per-container state (like runc --root)."""
        return self.runroot / "runtime"

    def ensure(self) -> None:
        """Make the state dirs, private. A root last opened by an older sampan (files 0644
        under 0755 dirs) has its modes fixed once; a marker file records that it was done."""
        private_dir(self.root)
        if private_dir(self.runroot):  # an older sampan's run root: its contents too, once
            from sampan.state.private import tighten_runroot
            tighten_runroot(self)
        for p in (self.blobs.parent, self.blobs, self.layers, self.containers, self.volumes,
                  self.tmp, self.locks, self.runtime_state):
            try:
                os.mkdir(p, PRIVATE_DIR)
            except FileExistsError:
                pass
        if not os.path.exists(self.root / MODES_MARK):
            from sampan.state.private import tighten_root
            tighten_root(self)


def private_dir(path: Path) -> bool:
    """Make path a directory only its owner may enter, or tighten one that is wider (one
    stat when it is already right: this runs at every command). True if it was wider."""
    try:
        os.mkdir(path, PRIVATE_DIR)
        return False
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(path.parent, exist_ok=True)
        return private_dir(path)
    mode = os.stat(path).st_mode
    if not mode & 0o077:
        return False
    if mode & 0o1000:
        from sampan.errors import InvalidArgument
        raise InvalidArgument(f"{path} is a shared directory (sticky bit, like /tmp): give "
                              "sampan a directory of its own for --root and --runroot")
    os.chmod(path, PRIVATE_DIR)
    return True
