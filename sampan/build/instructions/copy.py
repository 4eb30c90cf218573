"""COPY and ADD into an upper directory, with Docker's destination rules.

- a destination ending in '/', or an existing directory, or several sources:
  each file goes in as dest/<basename>; a source directory's CONTENTS go in
- otherwise a single file is written at dest itself
- relative destinations are relative to WORKDIR; missing parents are created
- owner: --chown, else 0:0 from the context and the original owner with --from
- --chmod applies to every file and directory copied
The image below is only read (MergedView); writes go to `upper`, each through
sampan.store.extract_at over a LayerTree: the destination and every entry's
parent resolve inside the image's root (the symlinks of every layer and of
what this step wrote are followed, but never out of the root), what is in the
way in this layer is unlinked, never written through, and every file is made
with O_EXCL|O_NOFOLLOW and given its owner and mode through its own fd.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from sampan.build.context import SourceFS, match_sources, walk
from sampan.build.layertree import LayerTree
from sampan.errors import UnsafeArchive
from sampan.store.extract_at import ExtractOptions, Extractor, Member


class CopyError(ValueError):
    """A user-caused COPY problem; the caller adds the Dockerfile line."""


@dataclass
class CopySpec:
    sources: list[str]  # patterns (already expanded)
    dest: str
    workdir: str = "/"
    chown: tuple[int, int] | None = None
    chmod: int | None = None
    preserve_owner: bool = False  # COPY --from keeps owners
    extract_archives: bool = False  # ADD


def resolve_matches(fs: SourceFS, patterns: list[str],
                    ignored_hint: bool = True) -> list[list[tuple[str, str]]]:
    """Per pattern, its (name, resolved path) matches; a pattern matching nothing is an error."""
    out = []
    for pattern in patterns:
        found = match_sources(fs, pattern)
        if not found:
            hint = ""
            if ignored_hint and fs.ignored(pattern.strip("/")):
                hint = " (it is excluded by .dockerignore)"
            raise CopyError(f"source {pattern!r} not found{hint}")
        out.append(found)
    return out


def _dest(spec: CopySpec) -> str:
    return spec.dest if spec.dest.startswith("/") else os.path.join(spec.workdir or "/", spec.dest)


def copy_into(fs: SourceFS, spec: CopySpec, lowers: list[Path], upper: Path,
              matches: list[list[tuple[str, str]]] | None = None) -> None:
    if matches is None:
        matches = resolve_matches(fs, spec.sources)
    flat = [m for group in matches for m in group]
    with TreeWriter(upper, lowers, spec) as writer:
        dest_resolved = writer.resolve(_dest(spec))
        dest_is_dir = spec.dest.endswith("/") or spec.dest.endswith("/.") or spec.dest in (".", "") \
            or writer.view.is_dir(dest_resolved)
        if len(flat) > 1 and not dest_is_dir:
            raise CopyError("when copying more than one source file, the destination must be a "
                            "directory and end with a /")
        for name, src in flat:
            st = fs.lstat(src)
            assert st is not None
            if stat.S_ISDIR(st.st_mode):
                writer.ensure_dir(dest_resolved, st)
                writer.copy_tree(fs, src, dest_resolved)
            elif spec.extract_archives and stat.S_ISREG(st.st_mode) and _is_archive(fs, src):
                writer.ensure_dir(dest_resolved, None)
                from sampan.build.instructions.archive import extract_archive

                extract_archive(fs, src, os.path.basename(name), writer, dest_resolved)
            else:
                target = posixpath.join(dest_resolved, os.path.basename(name)) if dest_is_dir \
                    else dest_resolved
                writer.copy_entry(fs, src, st, target)


def _is_archive(fs: SourceFS, src: str) -> bool:
    from sampan.build.instructions.archive import sniff_archive

    with fs.open_file(src) as f:
        return sniff_archive(f) is not None


def _copied(st: os.stat_result) -> bool:
    """Sockets, fifos and devices are not copied from a context (nor from an image)."""
    return stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)


def _member(name: str, st: os.stat_result) -> Member:
    """A header for a source entry, as if it came from an archive."""
    m = Member(name)
    m.mode = stat.S_IMODE(st.st_mode)
    m.uid, m.gid = st.st_uid, st.st_gid
    m.mtime = st.st_mtime
    m.mtime_ns = st.st_mtime_ns
    if stat.S_ISDIR(st.st_mode):
        m.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        m.type = tarfile.SYMTYPE
    else:
        m.type = tarfile.REGTYPE
        m.size = st.st_size
    return m


class TreeWriter:
    """This step's writes into `upper`, resolved in the image root (upper over lowers)."""

    def __init__(self, upper: Path, lowers: list[Path], spec: CopySpec):
        self.spec = spec
        self.tree = LayerTree(upper, lowers)
        self.view = self.tree.view

    def close(self) -> None:
        self.tree.close()

    def __enter__(self) -> "TreeWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, path: str) -> str:
        try:
            return self.tree.resolve(path)
        except OSError as err:
            raise CopyError(f"cannot resolve {path}: {err.strerror}") from None

    def options(self, archive: bool = False) -> ExtractOptions:
        if archive:  # an archive's owners stay unless --chown; --chmod is not applied
            return ExtractOptions(owner=self.spec.chown)
        owner = self.spec.chown
        if owner is None and not self.spec.preserve_owner:
            owner = (0, 0)
        return ExtractOptions(owner=owner, keep_owner=self.spec.preserve_owner, chmod=self.spec.chmod,
                              devices=False)

    def owner(self, st: os.stat_result | None) -> tuple[int, int]:
        if self.spec.chown is not None:
            return self.spec.chown
        if self.spec.preserve_owner and st is not None:
            return st.st_uid, st.st_gid
        return 0, 0

    def ensure_dir(self, path: str, src_st: os.stat_result | None) -> None:
        """Make `path` (resolved) a directory, parents first; a new last component gets
        the source directory's mode (or --chmod) and owner."""
        last = None
        if src_st is not None:
            mode = self.spec.chmod if self.spec.chmod is not None else stat.S_IMODE(src_st.st_mode)
            last = (mode, self.owner(src_st))
        try:
            os.close(self.tree.open_dir(path, True, self.owner(None), last))
        except NotADirectoryError as err:
            raise CopyError(f"cannot create directory {err.filename}: a file is in the way") from None
        except OSError as err:
            raise CopyError(f"cannot create directory {path}: {err.strerror}") from None

    def _extractor(self, dest: str, archive: bool = False) -> Extractor:
        return Extractor(self.tree, dest, self.options(archive))

    def _apply(self, ex: Extractor, member: Member) -> None:
        try:
            ex.apply(member)
        except UnsafeArchive as err:
            raise CopyError(f"cannot copy to {posixpath.join(ex.dest, member.name)}: "
                            f"{err.message.split(': ', 1)[-1]}") from None

    def copy_tree(self, fs: SourceFS, src: str, dest: str) -> None:
        with self._extractor(dest) as ex:
            for sub, st in sorted(walk(fs, src)):
                if sub and _copied(st):
                    self._apply(ex, self._source_member(fs, f"{src}/{sub}" if src else sub, sub, st))
            ex.finish()

    @staticmethod
    def _source_member(fs: SourceFS, full: str, name: str, st: os.stat_result) -> Member:
        m = _member(name, st)
        if stat.S_ISREG(st.st_mode):
            m.opener = lambda: fs.open_file(full)
        elif stat.S_ISLNK(st.st_mode):
            m.linkname = fs.readlink(full)
        return m

    def copy_entry(self, fs: SourceFS, src: str, st: os.stat_result, target: str) -> None:
        if not _copied(st):
            return
        parent, base = posixpath.split(target)
        self.ensure_dir(parent or "/", None)
        with self._extractor(parent or "/") as ex:
            self._apply(ex, self._source_member(fs, src, base, st))
            ex.finish()

    def write_file(self, target: str, data: bytes, mode: int, mtime: float | None = None) -> None:
        """A file from a heredoc or URL."""
        parent, base = posixpath.split(target)
        self.ensure_dir(parent or "/", None)
        m = Member(base)
        m.type, m.size, m.mode = tarfile.REGTYPE, len(data), mode
        m.uid = m.gid = 0
        m.mtime = mtime if mtime is not None else time.time()
        m.opener = lambda: io.BytesIO(data)
        with self._extractor(parent or "/") as ex:
            self._apply(ex, m)


def write_files(spec: CopySpec, lowers: list[Path], upper: Path,
                files: list[tuple[str, bytes, int, float | None]]) -> None:
    """COPY <<EOF and ADD URL: named in-memory files, same destination rules."""
    with TreeWriter(upper, lowers, spec) as writer:
        dest_resolved = writer.resolve(_dest(spec))
        dest_is_dir = spec.dest.endswith("/") or writer.view.is_dir(dest_resolved)
        if len(files) > 1 and not dest_is_dir:
            raise CopyError("when copying more than one source file, the destination must be a "
                            "directory and end with a /")
        for name, data, mode, mtime in files:
            target = posixpath.join(dest_resolved, name) if dest_is_dir else dest_resolved
            writer.write_file(target, data, mode, mtime)
