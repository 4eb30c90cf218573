"""Image metadata in SQLite: tables images, tags, layers (owned by the store).

images.layers holds the image's layer list as JSON (order matters, a blob may
appear in many images); the layers table holds what is known per blob, such
as its uncompressed size once unpacked.
"""

from __future__ import annotations

import json
import sqlite3
import time

from sampan.oci.image import chain_ids
from sampan.oci.reference import parse_reference
from sampan.state.db import Database
from sampan.store.types import ImageInfo, LayerRef

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,                 -- config digest
    manifest_digest TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    manifest_size INTEGER NOT NULL,
    created TEXT NOT NULL,
    config TEXT NOT NULL,                -- the config JSON as stored in its blob
    layers TEXT NOT NULL,                -- JSON list of LayerRef dicts, bottom first
    intermediate INTEGER NOT NULL DEFAULT 0,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (
    ref TEXT PRIMARY KEY,                -- full normalised reference
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tags_image_id ON tags(image_id);
-- name@digest of the manifest a registry holds for the image (pulled by it, or pushed)
CREATE TABLE IF NOT EXISTS repo_digests (
    ref TEXT PRIMARY KEY,                -- "docker.io/library/busybox@sha256:..."
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS repo_digests_image_id ON repo_digests(image_id);
CREATE TABLE IF NOT EXISTS layers (
    digest TEXT PRIMARY KEY,             -- blob digest
    diff_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    uncompressed_size INTEGER
);
"""

_SELECT = """
SELECT i.id, i.manifest_digest, i.manifest_media_type, i.created, i.config, i.layers,
       (SELECT group_concat(t.ref, char(10)) FROM tags t WHERE t.image_id = i.id) AS refs,
       (SELECT group_concat(d.ref, char(10)) FROM repo_digests d WHERE d.image_id = i.id) AS digests,
       (SELECT json_group_object(l.digest, l.uncompressed_size) FROM layers l
         WHERE l.digest IN (SELECT json_extract(j.value, '$.digest') FROM json_each(i.layers) j)
       ) AS usizes
FROM images i
"""


def _familiar(ref: str) -> str:
    return parse_reference(ref).familiar()


def row_to_info(row: sqlite3.Row) -> ImageInfo:
    usizes = json.loads(row["usizes"] or "{}")
    layers = []
    for d in json.loads(row["layers"]):
        ref = LayerRef.from_json(d)
        if ref.uncompressed_size is None and usizes.get(ref.digest) is not None:
            ref = LayerRef(ref.diff_id, ref.digest, ref.size, ref.media_type, usizes[ref.digest])
        layers.append(ref)
    full = sorted((row["refs"] or "").split("\n")) if row["refs"] else []
    size = sum(l.uncompressed_size if l.uncompressed_size is not None else l.size for l in layers)
    return ImageInfo(id=row["id"], manifest_digest=row["manifest_digest"],
                     repo_tags=[_familiar(r) for r in full], created=row["created"], size=size,
                     config=json.loads(row["config"]), layers=layers,
                     manifest_media_type=row["manifest_media_type"], full_tags=full,
                     repo_digests=[_familiar(r) for r in sorted((row["digests"] or "").split("\n")) if r])


class Catalog:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("store", SCHEMA)

    # --- reads ---------------------------------------------------------------
    def get(self, image_id: str) -> ImageInfo | None:
        row = self.db.conn.execute(_SELECT + " WHERE i.id = ?", (image_id,)).fetchone()
        return row_to_info(row) if row else None

    def by_tag(self, ref: str) -> ImageInfo | None:
        row = self.db.conn.execute(
            _SELECT + " WHERE i.id = (SELECT image_id FROM tags WHERE ref = ?)", (ref,)).fetchone()
        return row_to_info(row) if row else None

    def by_manifest(self, digest: str) -> ImageInfo | None:
        row = self.db.conn.execute(_SELECT + " WHERE i.manifest_digest = ? LIMIT 1",
                                   (digest,)).fetchone()
        return row_to_info(row) if row else None

    def ids_with_prefix(self, hex_prefix: str) -> list[str]:
        # GLOB is case-sensitive and uses the primary key index for a prefix
        rows = self.db.conn.execute("SELECT id FROM images WHERE id GLOB ? LIMIT 2",
                                    (f"sha256:{hex_prefix}*",)).fetchall()
        return [r[0] for r in rows]

    def all(self, include_intermediate: bool = True) -> list[ImageInfo]:
        sql = _SELECT + ("" if include_intermediate else
                         " WHERE i.intermediate = 0 OR EXISTS "
                         "(SELECT 1 FROM tags t WHERE t.image_id = i.id)")
        rows = self.db.conn.execute(sql + " ORDER BY i.added DESC, i.id").fetchall()
        return [row_to_info(r) for r in rows]

    def tags_for_index(self) -> list[sqlite3.Row]:
        return self.db.conn.execute(
            "SELECT i.id, i.manifest_digest, i.manifest_media_type, i.manifest_size, t.ref "
            "FROM images i LEFT JOIN tags t ON t.image_id = i.id ORDER BY t.ref, i.id").fetchall()

    def layer_usage(self, exclude_ids: Iterable[str] = ()) -> tuple[set[str], set[str]]:
        """(blob digests, diff-id chains as tuples) used by images not in exclude_ids."""
        excl = set(exclude_ids)
        digests: set[str] = set()
        rows = self.db.conn.execute("SELECT id, manifest_digest, config, layers FROM images")
        chains: set[str] = set()
        for r in rows:
            if r["id"] in excl:
                continue
            layers = json.loads(r["layers"])
            digests.update(l["digest"] for l in layers)
            digests.add(r["id"])
            digests.add(r["manifest_digest"])
            chains.update(chain_ids([l["diff_id"] for l in layers]))
        return digests, chains

    # --- writes (call inside db.tx()) ---------------------------------------
    @staticmethod
    def insert_image(conn: sqlite3.Connection, *, image_id: str, manifest_digest: str,
                     manifest_media_type: str, manifest_size: int, created: str,
                     config_json: str, layers: list[LayerRef], intermediate: bool) -> bool:
        """Record an image (no-op if the id is known). True if it was new."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO images (id, manifest_digest, manifest_media_type, "
            "manifest_size, created, config, layers, intermediate, added) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (image_id, manifest_digest, manifest_media_type, manifest_size, created, config_json,
             json.dumps([l.to_json() for l in layers]), int(intermediate), time.time()))
        for l in layers:
            conn.execute("INSERT OR IGNORE INTO layers (digest, diff_id, size, media_type, "
                         "uncompressed_size) VALUES (?, ?, ?, ?, ?)",
                         (l.digest, l.diff_id, l.size, l.media_type, l.uncompressed_size))
        return cur.rowcount > 0

    @staticmethod
    def set_tag(conn: sqlite3.Connection, ref: str, image_id: str) -> str | None:
        """Point ref at image_id; returns the image it pointed at before (or None)."""
        row = conn.execute("SELECT image_id FROM tags WHERE ref = ?", (ref,)).fetchone()
        conn.execute("INSERT OR REPLACE INTO tags (ref, image_id, added) VALUES (?, ?, ?)",
                     (ref, image_id, time.time()))
        return row[0] if row else None

    @staticmethod
    def set_repo_digest(conn: sqlite3.Connection, ref: str, image_id: str) -> None:
        conn.execute("INSERT OR REPLACE INTO repo_digests (ref, image_id, added) VALUES (?, ?, ?)",
                     (ref, image_id, time.time()))

    @staticmethod
    def delete_tag(conn: sqlite3.Connection, ref: str) -> bool:
        return conn.execute("DELETE FROM tags WHERE ref = ?", (ref,)).rowcount > 0

    @staticmethod
    def delete_image(conn: sqlite3.Connection, image_id: str) -> list[str]:
        """Delete an image and its tags; returns the tags it had."""
        refs = [r[0] for r in conn.execute("SELECT ref FROM tags WHERE image_id = ?", (image_id,))]
        conn.execute("DELETE FROM tags WHERE image_id = ?", (image_id,))
        conn.execute("DELETE FROM images WHERE id = ?", (image_id,))
        return refs

    @staticmethod
    def delete_unused_layer_rows(conn: sqlite3.Connection, digests: Iterable[str]) -> None:
        conn.executemany("DELETE FROM layers WHERE digest = ?", [(d,) for d in digests])

    def set_uncompressed_size(self, digest: str, size: int) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE layers SET uncompressed_size = ? WHERE digest = ?", (size, digest))
