"""Container records in SQLite: one row per container, written in one transaction per change."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sampan.errors import Conflict, ContainerNotFound
from sampan.oci.times import now_rfc3339  # noqa: F401  (the engine's modules take it from here)
from sampan.state.db import Database

if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER NOT NULL DEFAULT 0,
    pid_start INTEGER NOT NULL DEFAULT 0,
    monitor_pid INTEGER NOT NULL DEFAULT 0,
    monitor_start INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    oom_killed INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    restart_count INTEGER NOT NULL DEFAULT 0
);
-- containers --rm removed: their exit code, for a `wait` by id, id prefix or name
CREATE TABLE IF NOT EXISTS removed_containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    removed REAL NOT NULL
);
-- every --rm prunes the day-old tombstones: without this, a scan of a day's worth of runs
CREATE INDEX IF NOT EXISTS removed_containers_removed ON removed_containers(removed);
CREATE INDEX IF NOT EXISTS removed_containers_name ON removed_containers(name);
DROP TABLE IF EXISTS container_exits;  -- the tombstones before they kept the name
"""

# How long `wait` can still learn the exit code of a container that --rm removed.
EXIT_TOMBSTONE_SECONDS = 24 * 3600

ZERO_TIME = "0001-01-01T00:00:00Z"


class ContainerRecord:
    """One row of the containers table. config holds everything `create` resolved
    (its keys and types: engine/container_config.py)."""

    __slots__ = ("id", "name", "image_id", "image_ref", "created", "config", "state", "pid",
                 "pid_start", "monitor_pid", "monitor_start", "exit_code", "started_at",
                 "finished_at", "oom_killed", "error", "restart_count", "table")

    def __init__(self, id: str, name: str, image_id: str, image_ref: str, created: str,
                 config: ContainerConfig, state: str, pid: int = 0, pid_start: int = 0,
                 monitor_pid: int = 0, monitor_start: int = 0, exit_code: int = 0,
                 started_at: str = "", finished_at: str = "", oom_killed: bool = False,
                 error: str = "", restart_count: int = 0) -> None:
        self.id, self.name, self.image_id, self.image_ref = id, name, image_id, image_ref
        self.created, self.config, self.state = created, config, state  # created|running|exited
        self.pid, self.pid_start = pid, pid_start
        self.monitor_pid, self.monitor_start = monitor_pid, monitor_start
        self.exit_code, self.started_at, self.finished_at = exit_code, started_at, finished_at
        self.oom_killed, self.error, self.restart_count = oom_killed, error, restart_count
        # the table it was read from (None: made here, not read), so that status.status_of can
        # read it again before it believes what a stale copy would say (a lost monitor)
        self.table: ContainerTable | None = None

    @classmethod
    def from_row(cls, row, table: "ContainerTable | None" = None) -> "ContainerRecord":
        d = dict(row)
        d["config"] = json.loads(d["config"])
        d["oom_killed"] = bool(d["oom_killed"])
        rec = cls(**d)
        rec.table = table
        return rec

    def read_again(self) -> bool | None:
        """Bring this copy up to date with its row: True if the row changed since it was
        read, False if not (or it was never read from a table), None if the row is gone."""
        if self.table is None:
            return False
        fresh = self.table.get(self.id)
        if fresh is None:
            return None
        if all(getattr(fresh, c) == getattr(self, c) for c in _COLUMNS):
            return False
        for c in _COLUMNS:
            setattr(self, c, getattr(fresh, c))
        return True

    def __copy__(self) -> "ContainerRecord":
        new = ContainerRecord.__new__(ContainerRecord)
        for c in self.__slots__:
            setattr(new, c, getattr(self, c))
        return new

    # The table (a database connection) stays in this process: a pickle carries the columns only.
    def __getstate__(self) -> dict:
        return {c: getattr(self, c) for c in _COLUMNS}

    def __setstate__(self, state: dict) -> None:
        for c in _COLUMNS:
            setattr(self, c, state[c])
        self.table = None


_COLUMNS = ("id", "name", "image_id", "image_ref", "created", "config", "state", "pid",
            "pid_start", "monitor_pid", "monitor_start", "exit_code", "started_at",
            "finished_at", "oom_killed", "error", "restart_count")


class ContainerTable:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("containers", SCHEMA)

    def insert(self, rec: ContainerRecord) -> None:
        values = [getattr(rec, c) for c in _COLUMNS]
        values[_COLUMNS.index("config")] = json.dumps(rec.config)
        values[_COLUMNS.index("oom_killed")] = int(rec.oom_killed)
        with self.db.tx() as conn:
            clash = conn.execute("SELECT id FROM containers WHERE name=?", (rec.name,)).fetchone()
            if clash is not None:
                raise Conflict(
                    f'the container name "/{rec.name}" is already in use by container {clash["id"][:12]}; '
                    f"remove it (`sampan rm {rec.name}`) or choose another --name")
            conn.execute(f"INSERT INTO containers({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
                         values)

    def update(self, cid: str, **fields: Any) -> None:
        if "config" in fields:
            fields["config"] = json.dumps(fields["config"])
        if "oom_killed" in fields:
            fields["oom_killed"] = int(fields["oom_killed"])
        sets = ", ".join(f"{k}=?" for k in fields)
        with self.db.tx() as conn:
            conn.execute(f"UPDATE containers SET {sets} WHERE id=?", (*fields.values(), cid))

    def delete(self, cid: str, exit_code: int | None = None) -> None:
        """Remove the record; with exit_code (--rm), keep it for a day so `wait` still can tell."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT name FROM containers WHERE id=?", (cid,)).fetchone()
            conn.execute("DELETE FROM containers WHERE id=?", (cid,))
            if exit_code is not None and row is not None:
                now = time.time()
                conn.execute("DELETE FROM removed_containers WHERE removed < ?", (now - EXIT_TOMBSTONE_SECONDS,))
                conn.execute("INSERT OR REPLACE INTO removed_containers VALUES (?,?,?,?)",
                             (cid, row["name"], exit_code, now))

    def exit_code_of_removed(self, ref: str) -> int | None:
        """The exit code of a container --rm removed, by its id, a unique id prefix or its
        name (the latest one of that name); None when no such tombstone is kept."""
        conn = self.db.conn
        row = conn.execute("SELECT exit_code FROM removed_containers WHERE id=? OR name=? "
                           "ORDER BY id=? DESC, removed DESC LIMIT 1", (ref, ref, ref)).fetchone()
        if row is None and len(ref) >= 3 and all(c in "0123456789abcdef" for c in ref):
            rows = conn.execute("SELECT exit_code FROM removed_containers WHERE substr(id, 1, ?) = ? LIMIT 2",
                                (len(ref), ref)).fetchall()
            row = rows[0] if len(rows) == 1 else None
        return None if row is None else row["exit_code"]

    def get(self, cid: str) -> ContainerRecord | None:
        row = self.db.conn.execute("SELECT * FROM containers WHERE id=?", (cid,)).fetchone()
        return ContainerRecord.from_row(row, self) if row else None

    def names(self) -> set[str]:
        """Every container's name, without decoding every record (create needs only these)."""
        return {row[0] for row in self.db.conn.execute("SELECT name FROM containers")}

    def all(self) -> list[ContainerRecord]:
        rows = self.db.conn.execute("SELECT * FROM containers ORDER BY created DESC").fetchall()
        return [ContainerRecord.from_row(r, self) for r in rows]

    def find(self, ref: str) -> ContainerRecord:
        """By full id, name, or unique id prefix, as Docker resolves container references."""
        conn = self.db.conn
        name = ref[1:] if ref.startswith("/") else ref
        row = conn.execute("SELECT * FROM containers WHERE id=? OR name=?", (ref, name)).fetchone()
        if row is None and ref and all(c in "0123456789abcdef" for c in ref):
            rows = conn.execute("SELECT * FROM containers WHERE id LIKE ?", (ref + "%",)).fetchall()
            if len(rows) > 1:
                raise Conflict(f"container id prefix {ref} is ambiguous: it matches {len(rows)} containers")
            row = rows[0] if rows else None
        if row is None:
            raise ContainerNotFound(f"No such container: {ref} (`sampan ps -a` lists containers)")
        return ContainerRecord.from_row(row, self)
