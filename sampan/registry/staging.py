"""Stage verified blobs in a scratch dir, then move them into the store all at once.

A pull (or load) writes nothing to the store until every blob has been checked; if
the final commit fails part-way, blobs it added are removed again, so the store is
left as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def scratch_dir(store: Any) -> Path:
    """A private dir on the store's filesystem (so copies are cheap), else in /tmp. Its name
    says which process owns it: a killed pull's is removed by the next store writer (first
    this one, before it downloads anything)."""
    base = getattr(getattr(store, "paths", None), "tmp", None)
    if base is None:
        return Path(tempfile.mkdtemp(prefix="pull-"))
    from sampan.store.tempfiles import sweep, temp_name
    Path(base).mkdir(parents=True, exist_ok=True)
    sweep(Path(base))
    while True:
        d = Path(base) / temp_name("pull")
        try:
            d.mkdir(0o700)
            return d
        except FileExistsError:
            continue


def _adopter(store: Any):
    """The store's rename-into-place for verified temp files on its own filesystem, when it
    has one (ImageStore.blobs.commit_temp); else None and blobs are copied in. Saves a
    full copy of every layer on pull."""
    blobs = getattr(store, "blobs", None)
    adopt = getattr(blobs, "commit_temp", None)
    tmp = getattr(getattr(store, "paths", None), "tmp", None)
    return adopt if callable(adopt) and tmp is not None else None


class Staging:
    def __init__(self, store: Any):
        self.store = store
        self._dir: Path | None = None
        self._files: list[tuple[str, Path, int]] = []      # (digest, file, size)
        self._bytes: list[tuple[str, bytes]] = []
        self.added: list[str] = []

    @property
    def dir(self) -> Path:
        """Made at the first file to download: a re-pull of a known image makes none."""
        if self._dir is None:
            self._dir = scratch_dir(self.store)
        return self._dir

    def file_for(self, digest: str) -> Path:
        return self.dir / digest.replace(":", "-")

    def add_file(self, digest: str, path: Path, size: int) -> None:
        self._files.append((digest, path, size))

    def add_bytes(self, digest: str, data: bytes) -> None:
        self._bytes.append((digest, data))

    def commit(self) -> None:
        """Put every staged blob in the store (verified again by the store itself)."""
        try:
            for digest, data in self._bytes:
                if not self.store.has_blob(digest):
                    self.store.put_blob_bytes(data, expected_digest=digest)
                    self.added.append(digest)
            adopt = _adopter(self.store)
            for digest, path, size in self._files:
                if self.store.has_blob(digest):
                    continue
                if adopt is not None and os.path.getsize(path) == size:
                    adopt(str(path), digest)     # a rename: the file was verified and fsynced
                else:
                    with open(path, "rb") as f:
                        self.store.put_blob_stream(f, expected_digest=digest, expected_size=size)
                self.added.append(digest)
        except BaseException:
            self.rollback()
            raise

    def rollback(self) -> None:
        """Remove blobs this staging added (used when the final registration fails)."""
        for digest in self.added:
            try:
                os.unlink(self.store.blob_path(digest))
            except OSError:
                pass
        self.added.clear()

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
