"""COPY and ADD into an upper directory, with Docker's destination rules.

- a destination ending in '/', or an existing directory, or several sources:
  each file goes in as dest/<basename>; a source directory's CONTENTS go in
- otherwise a single file is written at dest itself
- relative destinations are relative to WORKDIR; missing parents are created
- owner: --chown, else 0:0 from the context and the original owner with --from
- --chmod applies to every file and directory copied
The image below is only read (MergedView); writes go to `upper`. Parent dirs
that already exist below are recreated in upper with their original metadata
so the layer does not change them; symlinked parents are followed.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from sampan.build.context import SourceFS, match_sources, walk
from sampan.build.rootfs import MergedView


def _chown(path: Path, uid: int, gid: int) -> None:
    """lchown; without root (unit tests) owners cannot be set, which is then not an error."""
    try:
        os.chown(path, uid, gid, follow_symlinks=False)
    except PermissionError:
        if os.geteuid() == 0:
            raise


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


def copy_into(fs: SourceFS, spec: CopySpec, lowers: list[Path], upper: Path,
              matches: list[list[tuple[str, str]]] | None = None) -> None:
    if matches is None:
        matches = resolve_matches(fs, spec.sources)
    flat = [m for group in matches for m in group]
    dest = spec.dest if spec.dest.startswith("/") else os.path.join(spec.workdir or "/", spec.dest)
    writer = TreeWriter(upper, lowers, spec)
    dest_resolved = writer.view.resolve(dest)
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
        elif spec.extract_archives and stat.S_ISREG(st.st_mode) and _is_archive(fs.host(src)):
            writer.ensure_dir(dest_resolved, None)
            from sampan.build.instructions.archive import extract_archive

            extract_archive(fs.host(src), writer, dest_resolved)
        else:
            target = os.path.join(dest_resolved, os.path.basename(name)) if dest_is_dir else dest_resolved
            writer.ensure_dir(os.path.dirname(target) or "/", None)
            writer.copy_entry(fs, src, st, target)


def _is_archive(path: Path | None) -> bool:
    if path is None:
        return False
    from sampan.build.instructions.archive import sniff_archive

    return sniff_archive(path) is not None


class TreeWriter:
    def __init__(self, upper: Path, lowers: list[Path], spec: CopySpec):
        self.upper = upper
        self.spec = spec
        self.view = MergedView([upper] + list(lowers))
        self.lower_view = MergedView(list(lowers))

    def host(self, path: str) -> Path:
        return self.upper / path.lstrip("/")

    def owner(self, st: os.stat_result | None) -> tuple[int, int]:
        if self.spec.chown is not None:
            return self.spec.chown
        if self.spec.preserve_owner and st is not None:
            return st.st_uid, st.st_gid
        return 0, 0

    def ensure_dir(self, path: str, src_st: os.stat_result | None) -> None:
        """Make `path` (resolved) a directory in upper, parents first."""
        parts = [p for p in path.split("/") if p]
        cur = ""
        for i, part in enumerate(parts):
            cur = f"{cur}/{part}"
            host = self.host(cur)
            if host.is_dir() and not host.is_symlink():
                continue
            lower = self.lower_view.real_path(cur)
            if lower is not None and lower.is_dir() and not lower.is_symlink():
                lst = os.lstat(lower)
                host.mkdir()
                _chown(host, lst.st_uid, lst.st_gid)
                os.chmod(host, stat.S_IMODE(lst.st_mode))
                os.utime(host, ns=(lst.st_atime_ns, lst.st_mtime_ns))
                continue
            if lower is not None or os.path.lexists(host):
                raise CopyError(f"cannot create directory {cur}: a file is in the way")
            last = i == len(parts) - 1
            host.mkdir()
            mode = stat.S_IMODE(src_st.st_mode) if (last and src_st is not None) else 0o755
            if self.spec.chmod is not None and last and src_st is not None:
                mode = self.spec.chmod
            os.chmod(host, mode)
            uid, gid = self.owner(src_st if last else None)
            _chown(host, uid, gid)

    def copy_tree(self, fs: SourceFS, src: str, dest: str) -> None:
        for sub, st in sorted(walk(fs, src)):
            if not sub:
                continue
            target = f"{dest.rstrip('/')}/{sub}"
            parent = os.path.dirname(target)
            if not self.host(parent).is_dir():
                self.ensure_dir(parent, None)
            self.copy_entry(fs, f"{src}/{sub}" if src else sub, st, target)

    def copy_entry(self, fs: SourceFS, src: str, st: os.stat_result, target: str) -> None:
        host = self.host(target)
        src_host = fs.host(src)
        assert src_host is not None
        if os.path.lexists(host) and not (stat.S_ISDIR(st.st_mode) and host.is_dir()):
            if host.is_dir() and not host.is_symlink():
                shutil.rmtree(host)
            else:
                host.unlink()
        uid, gid = self.owner(st)
        mode = stat.S_IMODE(st.st_mode)
        if self.spec.chmod is not None:
            mode = self.spec.chmod
        if stat.S_ISDIR(st.st_mode):
            if not host.is_dir():
                host.mkdir()
            _chown(host, uid, gid)
            os.chmod(host, mode)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src_host), host)
            _chown(host, uid, gid)
            return
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(src_host, host, follow_symlinks=False)
            _chown(host, uid, gid)
            os.chmod(host, mode)  # after chown: chown clears setuid bits
        else:
            return  # sockets, fifos, devices are not copied from a context
        os.utime(host, ns=(st.st_atime_ns, st.st_mtime_ns))

    def write_file(self, target: str, data: bytes, mode: int, mtime: float | None = None) -> None:
        """A file from a heredoc or URL."""
        parent = os.path.dirname(target) or "/"
        self.ensure_dir(parent, None)
        host = self.host(target)
        if os.path.lexists(host):
            host.unlink()
        host.write_bytes(data)
        uid, gid = self.owner(None)
        _chown(host, uid, gid)
        os.chmod(host, self.spec.chmod if self.spec.chmod is not None else mode)
        if mtime is not None:
            os.utime(host, (mtime, mtime))


def write_files(spec: CopySpec, lowers: list[Path], upper: Path,
                files: list[tuple[str, bytes, int, float | None]]) -> None:
    """COPY <<EOF and ADD URL: named in-memory files, same destination rules."""
    dest = spec.dest if spec.dest.startswith("/") else os.path.join(spec.workdir or "/", spec.dest)
    writer = TreeWriter(upper, lowers, spec)
    dest_resolved = writer.view.resolve(dest)
    dest_is_dir = spec.dest.endswith("/") or writer.view.is_dir(dest_resolved)
    if len(files) > 1 and not dest_is_dir:
        raise CopyError("when copying more than one source file, the destination must be a "
                        "directory and end with a /")
    for name, data, mode, mtime in files:
        target = os.path.join(dest_resolved, name) if dest_is_dir else dest_resolved
        writer.write_file(target, data, mode, mtime)
