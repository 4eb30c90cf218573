"""Read image archives (tar) without extracting them: members are looked up by a
normalised path, links are followed only inside the archive, and any name that tries
to climb out (absolute, '..') makes the whole archive refused."""

from __future__ import annotations

import lzma
import posixpath
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO

from sampan.errors import InvalidArgument, UnsafeArchive

MAX_LINK_HOPS = 8
MAX_JSON_BYTES = 8 << 20


def clean(name: str) -> str:
    """Normalise an archive path, refusing escapes. '' for the archive root."""
    if "\0" in name or name.startswith("/"):
        raise UnsafeArchive(f"archive member {name[:100]!r} has an absolute or invalid path; refused")
    norm = posixpath.normpath(name)
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise UnsafeArchive(f"archive member {name[:100]!r} points outside the archive; refused")
    return norm


class ArchiveReader:
    """Random access to an image tar. Non-seekable input is spooled to scratch first."""

    def __init__(self, fileobj: BinaryIO, scratch: Path | None = None):
        self._spool: IO[bytes] | None = None
        if not _seekable(fileobj):
            self._spool = tempfile.TemporaryFile(dir=scratch)
            shutil.copyfileobj(fileobj, self._spool, 1 << 20)
            self._spool.seek(0)
            fileobj = self._spool
        try:
            self.tar = _open_tar(fileobj)
            members = self.tar.getmembers()
        except InvalidArgument:
            self.close()
            raise
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as e:
            self.close()
            raise InvalidArgument(f"not an image archive (tar): {str(e).splitlines()[0][:200]}") from None
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in members:
            self.members[clean(m.name)] = m

    def close(self) -> None:
        tar = getattr(self, "tar", None)
        if tar is not None:
            tar.close()
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> "ArchiveReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, path: str) -> bool:
        try:
            return self._resolve(path) is not None
        except UnsafeArchive:
            raise

    def _resolve(self, path: str) -> tarfile.TarInfo | None:
        name = clean(path)
        for _ in range(MAX_LINK_HOPS):
            m = self.members.get(name)
            if m is None:
                return None
            if m.issym():
                name = clean(posixpath.join(posixpath.dirname(name), m.linkname))
            elif m.islnk():
                name = clean(m.linkname)
            elif m.isfile():
                return m
            else:
                return None
        raise UnsafeArchive(f"archive member {path[:100]!r}: too many links; refused")

    def member(self, path: str, what: str) -> tarfile.TarInfo:
        m = self._resolve(path)
        if m is None:
            raise InvalidArgument(f"archive is missing {what} ({path[:100]})")
        return m

    def open(self, path: str, what: str) -> IO[bytes]:
        f = self.tar.extractfile(self.member(path, what))
        if f is None:
            raise InvalidArgument(f"archive {what} ({path[:100]}) is not a file")
        return f

    def read_small(self, path: str, what: str, limit: int = MAX_JSON_BYTES) -> bytes:
        m = self.member(path, what)
        if m.size > limit:
            raise InvalidArgument(f"archive {what} ({path[:100]}) is {m.size} bytes; refused "
                                  f"(limit {limit})")
        with self.open(path, what) as f:
            return f.read(limit + 1)[:limit]


_MODES = {"none": ("r:", "tar"), "gzip": ("r:gz", "gzip tar"), "bzip2": ("r:bz2", "bzip2 tar"),
          "xz": ("r:xz", "xz tar")}


def _open_tar(f: BinaryIO) -> tarfile.TarFile:
    """tarfile.open with the compression its first bytes show: one error, in one line (mode
    "r:*" lists every method it tried, one per line)."""
    from sampan.store.compression import sniff
    start = f.tell()
    head = f.read(512)
    f.seek(start)
    if not head:
        raise InvalidArgument("not an image archive: the input is empty")
    kind = sniff(head)
    if kind not in _MODES:
        raise InvalidArgument(f"not an image archive: {kind}-compressed input is not supported; "
                              "decompress it first")
    mode, what = _MODES[kind]
    try:
        return tarfile.open(fileobj=f, mode=mode)  # type: ignore[call-overload]  # mode: one of _MODES'
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as e:
        raise InvalidArgument(f"not an image archive ({what}): {str(e).splitlines()[0][:200]}") from None


def _seekable(f: BinaryIO) -> bool:
    try:
        return f.seekable() and f.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False
