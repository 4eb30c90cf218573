"""SQLite metadata database (WAL). One transaction per change.

Each module that keeps metadata owns its tables and declares them with
``SCHEMA`` strings passed to :func:`Database.ensure_schema`; the statements
must be idempotent (``CREATE TABLE IF NOT EXISTS``).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterator


_open: set["Database"] = set()  # every Database of this process with a live connection


def close_all() -> None:
    """Close every connection this process has open: call before fork(). SQLite must never
    be carried across fork: a child that closes (or just uses a second connection beside)
    an inherited one confuses the locks SQLite keeps per process, and a later writer may
    lose the WAL. Each Database reopens lazily."""
    for db in list(_open):
        db.close()


class Database:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._schemas_done: set[str] = set()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Made 0600 before SQLite sees it: SQLite creates a new database 0644, and
            # gives its -wal and -shm files the database file's mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._conn = conn
            _open.add(self)
        return self._conn

    def ensure_schema(self, name: str, sql: str) -> None:
        if name in self._schemas_done:
            return
        self.conn.executescript(sql)
        self._schemas_done.add(name)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: writers serialize, readers never see half a change."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        _open.discard(self)
