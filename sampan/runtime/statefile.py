"""Per-container runtime state (state_dir/<id>/state.json) and the kernel's view of the process.

The status is always computed from the kernel: a pid is the container's only
if its start time still matches the one recorded at create (pids get reused).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sampan.errors import ContainerNotFound, Conflict, InvalidArgument
from sampan.state.procstat import proc_stat

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ID_CHARS = _ALNUM | frozenset("_.-")


class RuntimeRecord:
    """A plain class (not a dataclass): the start path imports it."""

    __slots__ = ("id", "pid", "start_time", "bundle", "cgroup_path", "created")

    def __init__(self, id: str, pid: int, start_time: int, bundle: str, cgroup_path: str,
                 created: float) -> None:
        self.id = id
        self.pid = pid
        self.start_time = start_time
        self.bundle = bundle
        self.cgroup_path = cgroup_path
        self.created = created

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self) -> str:
        return f"RuntimeRecord({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"


def valid_id(cid: str) -> bool:
    """``[A-Za-z0-9][A-Za-z0-9_.-]{0,127}``, checked without a regex compile."""
    return (isinstance(cid, str) and 0 < len(cid) <= 128 and cid[0] in _ALNUM
            and _ID_CHARS.issuperset(cid))


def check_id(cid: str) -> None:
    if not valid_id(cid):
        raise InvalidArgument(f"invalid container id {cid!r}: use letters, digits, '_', '.', '-'")


def is_alive(rec: RuntimeRecord) -> bool:
    st = proc_stat(rec.pid)
    return st is not None and st[1] == rec.start_time and st[0] not in ("Z", "X")


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def dir(self, cid: str) -> Path:
        check_id(cid)
        return self.root / cid

    def fifo(self, cid: str) -> Path:
        return self.dir(cid) / "exec.fifo"

    def reserve(self, cid: str) -> Path:
        d = self.dir(cid)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            raise Conflict(f"container {cid} already exists in the runtime: delete it first") from None
        return d

    def save(self, rec: RuntimeRecord) -> None:
        # state_dir lives under the run root (tmpfs, gone at reboot like the processes it
        # describes): rename for atomicity, no fsync on the start path
        path = self.dir(rec.id) / "state.json"
        tmp = path.with_name(".state.json.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(rec.to_json()).encode())
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def load(self, cid: str) -> RuntimeRecord:
        try:
            data = json.loads((self.dir(cid) / "state.json").read_text())
        except FileNotFoundError:
            raise ContainerNotFound(f"container {cid} does not exist in the runtime") from None
        return RuntimeRecord(**data)

    def status(self, rec: RuntimeRecord) -> str:
        if not is_alive(rec):
            return "stopped"
        return "created" if os.path.exists(self.fifo(rec.id)) else "running"

    def remove(self, cid: str) -> None:
        # flat dir of small files (state.json, exec.fifo): no need for shutil on the start path
        d = self.dir(cid)
        try:
            for entry in os.scandir(d):
                os.unlink(entry.path)
            os.rmdir(d)
        except FileNotFoundError:
            pass
