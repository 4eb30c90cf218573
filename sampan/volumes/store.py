"""Volume metadata (SQLite) and their data directories.

`run` imports this module: no dataclass, regex, secrets or shutil at import time.
"""

from __future__ import annotations

import builtins
import json
import os
import time

from sampan.errors import Conflict, InvalidArgument, VolumeNotFound
from sampan.state.db import Database
from sampan.state.paths import Paths

SCHEMA = """
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    anonymous INTEGER NOT NULL DEFAULT 0
);
"""

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_.-")


def valid_volume_name(name: str) -> bool:
    """Docker's rule: ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``, at most 255 characters."""
    return (0 < len(name) <= 255 and name[0] in _ALNUM and _NAME_CHARS.issuperset(name))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class VolumeInfo:
    __slots__ = ("name", "mountpoint", "created", "labels", "anonymous")

    def __init__(self, name: str, mountpoint: str, created: str,
                 labels: dict[str, str] | None = None, anonymous: bool = False) -> None:
        self.name = name
        self.mountpoint = mountpoint
        self.created = created
        self.labels = {} if labels is None else labels
        self.anonymous = anonymous

    def __repr__(self) -> str:
        return (f"VolumeInfo(name={self.name!r}, mountpoint={self.mountpoint!r}, "
                f"created={self.created!r}, labels={self.labels!r}, anonymous={self.anonymous!r})")

    def to_docker(self) -> dict:
        return {"CreatedAt": self.created, "Driver": "local", "Labels": self.labels or None,
                "Mountpoint": self.mountpoint, "Name": self.name, "Options": None, "Scope": "local"}


class VolumeStore:
    def __init__(self, paths: Paths, db: Database):
        self.paths = paths
        self.db = db
        db.ensure_schema("volumes", SCHEMA)

    def _info(self, row) -> VolumeInfo:
        return VolumeInfo(name=row["name"], created=row["created"],
                          mountpoint=str(self.paths.volumes / row["name"] / "_data"),
                          labels=json.loads(row["labels"]), anonymous=bool(row["anonymous"]))

    def create(self, name: str | None = None, labels: dict[str, str] | None = None,
               *, exist_ok: bool = True, anonymous: bool = False) -> tuple[VolumeInfo, bool]:
        """Create a volume (a random name when None). Returns (info, created_now)."""
        if name is None:
            name, anonymous = os.urandom(32).hex(), True  # as secrets.token_hex, minus its import
        if not valid_volume_name(name):
            raise InvalidArgument(
                f"invalid volume name {name!r}: use letters, digits, '_', '.', '-', starting with a letter or digit")
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM volumes WHERE name=?", (name,)).fetchone()
            if row is not None:
                if not exist_ok:
                    raise Conflict(f"volume {name} already exists")
                return self._info(row), False
            data = self.paths.volumes / name / "_data"
            data.parent.mkdir(0o700, parents=True, exist_ok=True)  # host users stay out
            data.mkdir(exist_ok=True)
            os.chmod(data, 0o755)  # the container's own dir (copy-up may give it the image's mode)
            conn.execute("INSERT INTO volumes(name, created, labels, anonymous) VALUES (?,?,?,?)",
                         (name, _now(), json.dumps(labels or {}), int(anonymous)))
            row = conn.execute("SELECT * FROM volumes WHERE name=?", (name,)).fetchone()
        return self._info(row), True

    def get(self, name: str) -> VolumeInfo:
        row = self.db.conn.execute("SELECT * FROM volumes WHERE name=?", (name,)).fetchone()
        if row is None:
            raise VolumeNotFound(f"No such volume: {name} (`sampan volume ls` lists volumes)")
        return self._info(row)

    def list(self) -> list[VolumeInfo]:
        rows = self.db.conn.execute("SELECT * FROM volumes ORDER BY name").fetchall()
        return [self._info(r) for r in rows]

    def remove(self, name: str, users: builtins.list[str]) -> None:
        """Remove a volume. `users` are names of containers using it (refuse if any)."""
        self.get(name)
        if users:
            raise Conflict(f"volume {name} is in use by container {', '.join(users)}; remove the container first")
        with self.db.tx() as conn:
            conn.execute("DELETE FROM volumes WHERE name=?", (name,))
        import shutil  # shutil drags bz2 and lzma: not on `run`'s import path
        shutil.rmtree(self.paths.volumes / name, ignore_errors=True)

    def prune(self, in_use: set[str], all_volumes: bool = False) -> builtins.list[str]:
        """Remove unused volumes: anonymous ones only (Docker 23+), or all with all_volumes."""
        removed = []
        for v in self.list():
            if v.name in in_use or not (v.anonymous or all_volumes):
                continue
            self.remove(v.name, [])
            removed.append(v.name)
        return removed

    def size(self, name: str) -> int:
        return dir_size(self.paths.volumes / name / "_data")


def dir_size(path) -> int:
    """Bytes of disk the files under path use (blocks, as `du`)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total
