"""A Database that only reads, for `sampan system check` (which must change nothing).

The file is opened without the right to create it, and with ``query_only`` so no
statement can change it. How it is opened depends on its WAL file, so that a
check leaves no trace on disk:
- a ``-wal`` file exists (another process has the database open, or crashed):
  ``mode=ro``, a pure reader; it checkpoints nothing and deletes nothing;
- none exists (the usual quiet root): an ordinary connection, because a
  ``mode=ro`` one would create ``-wal`` and ``-shm`` and could not remove them,
  while the last ordinary connection to close removes them again.

The tables' owners (Catalog, ContainerTable, VolumeStore) declare their schema on
construction with ``CREATE TABLE IF NOT EXISTS``: here a table that exists is left
as it is, and one that was never created (a root that never had a volume) is
stood in for by an empty TEMP table of that shape (in memory), so every reader
sees "no rows" instead of an error.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from sampan.state.db import Database


class ReadOnlyDatabase(Database):
    def __init__(self, path: Path | str | None):
        """path None: an empty in-memory database (the root has no sampan.db)."""
        super().__init__(path if path is not None else ":memory:")
        self._memory = path is None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if self._memory:
                conn = sqlite3.connect(":memory:", isolation_level=None)
            else:
                wal = self.path.with_name(self.path.name + "-wal")
                conn = _connect(self.path, "ro" if wal.exists() else "rw")
                conn.execute("PRAGMA temp_store=MEMORY")
                conn.execute("PRAGMA query_only=ON")
            conn.row_factory = sqlite3.Row
            self._conn = conn  # the caller closes it (check_root does, in a finally)
        return self._conn

    def ensure_schema(self, name: str, sql: str) -> None:
        if name in self._schemas_done:
            return
        if self._memory:
            self.conn.executescript(sql)
        else:
            for stmt in _statements(sql):
                words = stmt.split()
                if [w.upper() for w in words[:5]] != ["CREATE", "TABLE", "IF", "NOT", "EXISTS"]:
                    continue  # indexes and the like: readers do not need them
                table = words[5].split("(")[0]
                row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                        (table,)).fetchone()
                if row is None:
                    self.conn.execute("PRAGMA query_only=OFF")  # for this TEMP table only
                    try:
                        self.conn.execute("CREATE TEMP TABLE" + stmt[len("CREATE TABLE"):])
                    finally:
                        self.conn.execute("PRAGMA query_only=ON")
        self._schemas_done.add(name)

    def tx(self):
        raise sqlite3.OperationalError("system check opened the database read-only")

    def integrity_problems(self) -> list[str]:
        """SQLite's own quick_check: [] when the file is sound."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check").fetchall()]
        return [] if rows == ["ok"] else rows


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    uri = f"file:{quote(str(path))}?mode={mode}"
    try:
        return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    except sqlite3.OperationalError:
        if mode == "ro":
            raise
        return _connect(path, "ro")  # a file or directory this process may not write


def _statements(sql: str) -> list[str]:
    """Split a schema script into statements (sqlite3.complete_statement knows comments)."""
    out, cur = [], ""
    for line in sql.splitlines(keepends=True):
        stripped = line.split("--", 1)[0]
        cur += stripped
        if sqlite3.complete_statement(cur):
            out.append(cur.strip().rstrip(";"))
            cur = ""
    return [s for s in out if s]
