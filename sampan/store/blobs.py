"""Content-addressed blobs in ``blobs/sha256/<hex>`` (the OCI image layout).

A blob reaches its final name only after its bytes were hashed, checked
against the expected digest and size, and fsynced: ``blobs/`` never holds a
partial or wrong blob, whatever fails or crashes. Writing a blob that exists
already is a no-op (idempotent).
"""

from __future__ import annotations

import os
from pathlib import Path

from sampan.errors import DigestMismatch, NotFound
from sampan.oci.digest import check_digest, digest_hex
from sampan.state.atomic import fsync_dir
from sampan.state.paths import Paths

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import BinaryIO

CHUNK = 1 << 20


class BlobStore:
    def __init__(self, paths: Paths):
        self.paths = paths

    def path(self, digest: str) -> Path:
        return self.paths.blobs / digest_hex(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the store") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the store") from None

    def _temp(self) -> tuple[int, str]:
        # not tempfile.mkstemp: tempfile drags shutil, bz2 and lzma onto the `run` path;
        # the name says which process owns it (store/tempfiles.py sweeps a dead one's)
        from sampan.store.tempfiles import temp_name
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        while True:
            path = str(self.paths.tmp / temp_name("blob"))
            try:
                return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), path
            except FileExistsError:
                continue

    def commit_temp(self, tmp: str, digest: str) -> None:
        """Move a verified, fsynced temp file into place under its digest."""
        dest = self.path(digest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o600)  # images may hold secrets: root's alone, as the rest of the root
        os.replace(tmp, dest)
        fsync_dir(dest.parent)

    def put_bytes(self, data: bytes, expected_digest: str | None = None) -> str:
        import hashlib  # not at module top: OpenSSL's _hashlib costs ~3 ms, `run` hashes nothing
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected_digest is not None and check_digest(expected_digest) != digest:
            raise DigestMismatch(f"content digest {digest} does not match the expected "
                                 f"{expected_digest}")
        if self.has(digest):
            return digest

        def write(f) -> str:
            f.write(data)
            return digest
        return self._write_new(write)

    def put_stream(self, fileobj: BinaryIO, expected_digest: str | None = None,
                   expected_size: int | None = None) -> tuple[str, int]:
        if expected_digest is not None:
            check_digest(expected_digest)
            if self.has(expected_digest):
                have = self.size(expected_digest)
                if expected_size is not None and have != expected_size:
                    raise DigestMismatch(f"blob {expected_digest} is {have} bytes, not the "
                                         f"declared {expected_size}")
                return expected_digest, have
        import hashlib
        h = hashlib.sha256()
        total = 0

        def write(f) -> str:
            nonlocal total
            while True:
                want = CHUNK
                if expected_size is not None:
                    # read at most one byte past the limit: enough to know it overflowed
                    want = min(CHUNK, expected_size - total + 1)
                chunk = fileobj.read(want)
                if not chunk:
                    break
                total += len(chunk)
                if expected_size is not None and total > expected_size:
                    raise DigestMismatch(f"blob {expected_digest or ''} sent more than its "
                                         f"declared {expected_size} bytes".replace("  ", " "))
                h.update(chunk)
                f.write(chunk)
            if expected_size is not None and total != expected_size:
                raise DigestMismatch(f"blob {expected_digest or ''} ended after {total} of "
                                     f"its declared {expected_size} bytes".replace("  ", " "))
            digest = "sha256:" + h.hexdigest()
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(f"content digest {digest} does not match the expected "
                                     f"{expected_digest}")
            return digest
        return self._write_new(write), total

    def _write_new(self, write) -> str:
        """write(f) fills a fresh temp file and returns the digest it checked; the file is
        then fsynced and moved into place under it. Any failure removes the temp file."""
        fd, tmp = self._temp()
        try:
            with os.fdopen(fd, "wb") as f:
                digest = write(f)
                f.flush()
                os.fsync(f.fileno())
            self.commit_temp(tmp, digest)
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(e, OSError) and e.filename is None:
                e.filename = tmp  # a write names no file: say where (a full disk, say)
            raise
        return digest

    def delete(self, digest: str) -> bool:
        try:
            self.path(digest).unlink()
            return True
        except FileNotFoundError:
            return False

    def all_digests(self) -> list[str]:
        try:
            return ["sha256:" + n for n in os.listdir(self.paths.blobs) if len(n) == 64]
        except FileNotFoundError:
            return []
