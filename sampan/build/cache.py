"""The build cache: step key -> what the step added (steps.py: its history entry and
layer), in SQLite.

A key chains the parent's key, the expanded instruction, the build args it
used and, for COPY/ADD, the content digest of its sources; so a hit means
"this exact step on this exact parent". Entries survive across builds and
images; a layer the store has since deleted makes the entry a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, NamedTuple

from sampan.state.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL
);
"""


def step_key(parent: str, *parts: Any) -> str:
    blob = json.dumps([parent, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


class BuildCache:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("build_cache", SCHEMA)

    def get(self, key: str) -> dict | None:
        row = self.db.conn.execute("SELECT value FROM build_cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        with self.db.tx() as conn:
            conn.execute("UPDATE build_cache SET last_used = ? WHERE key = ?", (time.time(), key))
        return json.loads(row["value"])

    def put(self, key: str, value: dict) -> None:
        now = time.time()
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO build_cache (key, value, created, last_used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, last_used = excluded.last_used",
                (key, json.dumps(value, separators=(",", ":")), now, now))

    def forget(self, key: str) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM build_cache WHERE key = ?", (key,))

    def prune(self) -> int:
        """Forget every cached step (and remembered file digests and parses); returns the
        steps dropped."""
        return len(self.prune_keys())

    def prune_keys(self, until: float | None = None) -> list[str]:
        """Forget the cached steps last used before ``until`` (every one when None; the
        remembered file digests and parses go only then); the keys dropped."""
        from sampan.build.context import DigestMemo

        DigestMemo(self.db)  # its table exists from here on
        ParseMemo(self.db)
        with self.db.tx() as conn:
            if until is None:
                conn.execute("DELETE FROM build_file_digests")
                conn.execute("DELETE FROM build_parses")
                rows = conn.execute("DELETE FROM build_cache RETURNING key").fetchall()
            else:
                rows = conn.execute("DELETE FROM build_cache WHERE last_used < ? RETURNING key",
                                    (until,)).fetchall()
        return [r[0] for r in rows]


PARSE_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_parses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class ParseMemo:
    """The Go tokenizer's output (parse.parse_dockerfile's `memo`) by the Dockerfile's text
    and the parser library's identity, as plain tuples with the same fields."""

    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("build_parses", PARSE_SCHEMA)
        self._lib: str | None = None

    def _key(self, text: str) -> str:
        if self._lib is None:
            import importlib.util
            spec = importlib.util.find_spec("dockerfile")
            origin = spec.origin if spec is not None and spec.origin else ""
            try:
                st = os.stat(origin)
                self._lib = f"{origin}:{st.st_size}:{st.st_mtime_ns}"
            except OSError:
                self._lib = origin
        return hashlib.sha256(f"{self._lib}\0{text}".encode()).hexdigest()

    def get(self, text: str) -> list | None:
        row = self.db.conn.execute("SELECT value FROM build_parses WHERE key = ?",
                                   (self._key(text),)).fetchone()
        if row is None:
            return None
        try:
            return [_Command(c[0], c[1], c[2], c[3], c[4], c[5], tuple(c[6]), tuple(c[7]),
                             tuple(_Heredoc(*h) for h in c[8])) for c in json.loads(row["value"])]
        except (ValueError, TypeError):
            return None  # an entry of another shape: parse again

    def put(self, text: str, commands: list) -> None:
        value = json.dumps([[c.cmd, c.sub_cmd, c.json, c.original, c.start_line, c.end_line,
                             list(c.flags), list(c.value),
                             [[h.name, h.file_descriptor, h.content] for h in c.heredocs]]
                            for c in commands], separators=(",", ":"))
        with self.db.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO build_parses (key, value) VALUES (?, ?)",
                         (self._key(text), value))


class _Command(NamedTuple):
    cmd: str
    sub_cmd: str | None
    json: bool
    original: str
    start_line: int
    end_line: int
    flags: tuple
    value: tuple
    heredocs: tuple


class _Heredoc(NamedTuple):
    name: str
    file_descriptor: int
    content: str
