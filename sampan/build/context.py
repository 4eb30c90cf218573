"""The build context (or another stage's rootfs) as a source of COPY files.

Both kinds answer the same questions: resolve a path (symlinks followed but
never out of the root), list a dir, stat an entry, map it to a host file,
and hash what a COPY would take (content, modes, owners; not mtimes) for the
cache key.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from sampan.build.ignore import IgnoreMatcher, _translate, clean
from sampan.store.merged_view import MergedView
from sampan.state import inroot

_MAX_SYMLINKS = 40
_META = re.compile(r"[*?\[\\]")


class SourceFS(Protocol):
    def resolve(self, rel: str, follow_last: bool = True) -> str: ...
    def lstat(self, rel: str) -> os.stat_result | None: ...
    def host(self, rel: str) -> Path | None: ...
    def listdir(self, rel: str) -> list[str]: ...
    def ignored(self, rel: str) -> bool: ...
    def open_file(self, rel: str) -> BinaryIO: ...
    def readlink(self, rel: str) -> str: ...


def _regular_file(fd: int, rel: str) -> BinaryIO:
    """The fd as a binary file when it is a regular file (a name swapped since it was
    listed could now be a fifo or a device: never read those)."""
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file any more", rel)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _readlink(fd: int, rel: str) -> str:
    try:
        if not stat.S_ISLNK(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a symbolic link any more", rel)
        return os.readlink("", dir_fd=fd)
    finally:
        os.close(fd)


class ContextFS:
    """A context directory on the host, filtered by .dockerignore."""

    def __init__(self, root: Path, ignore: IgnoreMatcher | None = None):
        self.root = Path(root)
        self.ignore = ignore or IgnoreMatcher.empty()

    def resolve(self, rel: str, follow_last: bool = True) -> str:
        todo = [p for p in rel.split("/") if p]
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop(0)
            if part in (".", ""):
                continue
            if part == "..":
                if done:
                    done.pop()
                continue
            host = self.root.joinpath(*done, part)
            if (todo or follow_last) and host.is_symlink():
                hops += 1
                if hops > _MAX_SYMLINKS:
                    raise OSError(40, "too many levels of symbolic links", rel)
                target = os.readlink(host)
                if target.startswith("/"):
                    done = []  # the context is the root for absolute links
                todo = [p for p in target.split("/") if p] + todo
                continue
            done.append(part)
        return "/".join(done)

    def lstat(self, rel: str) -> os.stat_result | None:
        try:
            return os.lstat(self.root / rel) if rel else os.lstat(self.root)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def host(self, rel: str) -> Path | None:
        p = self.root / rel if rel else self.root
        return p if os.path.lexists(p) else None

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self.root / rel if rel else self.root))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def ignored(self, rel: str) -> bool:
        return bool(rel) and self.ignore.ignored(rel)

    def scandir(self, rel: str) -> list[tuple[str, os.stat_result]]:
        """(name, lstat) of a dir's entries, sorted; one syscall batch instead of many.
        The dir is opened by fd below the context, so a swapped-in link is not listed."""
        try:
            fd = self._open(rel, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return []
        try:
            with os.scandir(fd) as it:
                entries = [(e.name, e.stat(follow_symlinks=False)) for e in it]
        finally:
            os.close(fd)
        return sorted(entries)

    def _open(self, rel: str, flags: int) -> int:
        """rel (already resolved: no symlink in it) opened below the context root,
        following no symlink: the context's links never lead a read out of it."""
        rfd = inroot.open_root(self.root)
        try:
            return inroot.open_beneath(rfd, rel, flags)
        finally:
            os.close(rfd)

    def open_file(self, rel: str) -> BinaryIO:
        return _regular_file(self._open(rel, os.O_RDONLY | os.O_NONBLOCK), rel)

    def readlink(self, rel: str) -> str:
        return _readlink(self._open(rel, os.O_PATH), rel)


class StageFS:
    """Another stage's or image's root filesystem (COPY --from)."""

    def __init__(self, layer_dirs: list[Path]):
        self.view = MergedView(layer_dirs)

    def resolve(self, rel: str, follow_last: bool = True) -> str:
        return self.view.resolve(rel, follow_last).lstrip("/")

    def lstat(self, rel: str) -> os.stat_result | None:
        return self.view.lstat(rel)

    def host(self, rel: str) -> Path | None:
        return self.view.find(rel)

    def listdir(self, rel: str) -> list[str]:
        return self.view.listdir(rel)

    def ignored(self, rel: str) -> bool:
        return False

    def open_file(self, rel: str) -> BinaryIO:
        return _regular_file(self.view.open(rel, os.O_RDONLY | os.O_NONBLOCK), rel)

    def readlink(self, rel: str) -> str:
        return _readlink(self.view.open(rel, os.O_PATH), rel)


class SourceError(ValueError):
    """A COPY source problem; the caller adds the Dockerfile line."""


def normalize_source(pattern: str) -> str:
    """Context-relative clean path; refuse a path that climbs out of the context."""
    cleaned = clean(pattern)
    rel = cleaned.lstrip("/")
    if rel == ".." or rel.startswith("../"):
        raise SourceError(f"forbidden path outside the build context: {pattern}")
    return "" if rel == "." else rel


def match_sources(fs: SourceFS, pattern: str) -> list[tuple[str, str]]:
    """(name, resolved) pairs a COPY source pattern selects; [] if none.

    `name` keeps the last component as written or matched (COPY names the copy
    after it); `resolved` follows symlinks, so a linked file is copied as its target.
    """
    rel = normalize_source(pattern)
    if not _META.search(rel):
        candidates = [rel]
    else:
        candidates = [""]
        for part in rel.split("/"):
            nxt: list[str] = []
            if not _META.search(part):
                nxt = [f"{base}/{part}" if base else part for base in candidates]
            else:
                rx = re.compile(_translate(part), re.DOTALL)
                for base in candidates:
                    for name in fs.listdir(fs.resolve(base) if base else ""):
                        if rx.match(name):
                            nxt.append(f"{base}/{name}" if base else name)
            candidates = nxt
    out: dict[str, str] = {}
    for cand in candidates:
        parent, _, last = cand.rpartition("/")
        name = (f"{fs.resolve(parent)}/{last}" if parent else last).strip("/")
        resolved = fs.resolve(cand)
        if fs.lstat(resolved) is not None and not fs.ignored(name) and not fs.ignored(resolved):
            out[name] = resolved
    return sorted(out.items())


def walk(fs: SourceFS, rel: str) -> Iterator[tuple[str, os.stat_result]]:
    """(path relative to `rel`, lstat) for rel itself ('') and everything below it, sorted."""
    st = fs.lstat(rel)
    if st is None:
        return
    yield "", st
    if not stat.S_ISDIR(st.st_mode):
        return
    stack = [""]
    while stack:
        sub = stack.pop()
        base = f"{rel}/{sub}".strip("/") if sub else rel
        scandir = getattr(fs, "scandir", None)
        entries = scandir(base) if scandir is not None else \
            [(name, fs.lstat(f"{base}/{name}" if base else name)) for name in fs.listdir(base)]
        for name, cst in entries:
            child_rel = f"{sub}/{name}" if sub else name
            full = f"{base}/{name}" if base else name
            if cst is None:
                continue
            if fs.ignored(full):
                if stat.S_ISDIR(cst.st_mode) and getattr(fs, "ignore", None) is not None \
                        and fs.ignore.may_reinclude_under(full):  # type: ignore[attr-defined]
                    stack.append(child_rel)  # an exception may re-include something inside
                continue
            yield child_rel, cst
            if stat.S_ISDIR(cst.st_mode):
                stack.append(child_rel)


def hash_sources(fs: SourceFS, paths: list[str], known: "DigestMemo | None" = None,
                 per_file: dict[str, str] | None = None) -> str:
    """Digest of what COPY would take from `paths`: names, types, modes, owners, contents.

    `known` remembers file content digests by (inode, size, mtime, ctime) so an
    unchanged context is not read again; any change to a file changes its ctime.
    per_file, when given, gets a short digest of each entry (cache_reasons.py names the
    files that changed since the last build)."""
    h = hashlib.sha256()
    for top in paths:
        h.update(b"\0top\0" + top.encode())
        for sub, st in sorted(walk(fs, top)):
            meta = f"\0{sub}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0".encode()
            h.update(meta)
            full = f"{top}/{sub}".strip("/") if sub else top
            content = b""
            if stat.S_ISREG(st.st_mode):
                host = fs.host(full) if known is not None else None
                digest = known.get(host, st) if host is not None and known is not None else None
                if digest is None:
                    digest = _file_digest(fs.open_file(full))
                    if host is not None and known is not None:
                        known.put(host, st, digest)
                h.update(digest)
                content = digest
            elif stat.S_ISLNK(st.st_mode):
                content = fs.readlink(full).encode()
                h.update(content)
            if per_file is not None:
                per_file[full] = hashlib.sha256(meta + content).hexdigest()[:16]
    return "sha256:" + h.hexdigest()


def _file_digest(f: BinaryIO) -> bytes:
    h = hashlib.sha256()
    with f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


class DigestMemo:
    """Content digests of context files keyed by path and stat identity, in SQLite."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS build_file_digests (
        path TEXT PRIMARY KEY,
        ident TEXT NOT NULL,
        digest BLOB NOT NULL
    );
    """

    def __init__(self, db):
        self.db = db
        db.ensure_schema("build_file_digests", self.SCHEMA)
        self._pending: dict[str, tuple[str, bytes]] = {}
        self._loaded: dict[str, tuple[str, bytes]] = {}

    @staticmethod
    def _ident(st: os.stat_result) -> str:
        return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"

    def preload(self, root: Path) -> None:
        """Read every remembered digest under root in one query (a context is walked whole)."""
        lo = str(root).rstrip("/") + "/"
        hi = lo[:-1] + chr(ord("/") + 1)
        rows = self.db.conn.execute(
            "SELECT path, ident, digest FROM build_file_digests WHERE path >= ? AND path < ?", (lo, hi))
        for row in rows:
            self._loaded[row["path"]] = (row["ident"], bytes(row["digest"]))

    def get(self, path: Path, st: os.stat_result) -> bytes | None:
        key = str(path)
        found = self._pending.get(key) or self._loaded.get(key)
        if found is None and not self._loaded:
            row = self.db.conn.execute("SELECT ident, digest FROM build_file_digests WHERE path = ?",
                                       (key,)).fetchone()
            found = (row["ident"], bytes(row["digest"])) if row is not None else None
        if found is None or found[0] != self._ident(st):
            return None
        return found[1]

    def put(self, path: Path, st: os.stat_result, digest: bytes) -> None:
        self._pending[str(path)] = (self._ident(st), digest)

    def flush(self) -> None:
        if not self._pending:
            return
        with self.db.tx() as conn:
            conn.executemany(
                "INSERT INTO build_file_digests (path, ident, digest) VALUES (?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET ident = excluded.ident, digest = excluded.digest",
                [(p, i, d) for p, (i, d) in self._pending.items()])
        self._pending.clear()
