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
import time
from typing import Any

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
        """Forget every cached step (and remembered file digests); returns the steps dropped."""
        from sampan.build.context import DigestMemo

        DigestMemo(self.db)  # its table exists from here on
        with self.db.tx() as conn:
            conn.execute("DELETE FROM build_file_digests")
            return conn.execute("DELETE FROM build_cache").rowcount
