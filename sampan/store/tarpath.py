"""Path rules for tar entries from strangers: relative, no escaping ``..``, no NUL.

Kept apart from the extractor so import (validate early) and unpack (enforce)
share one definition, and so property tests can hammer it alone.
"""

from __future__ import annotations

import posixpath

from sampan.errors import UnsafeArchive

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    import tarfile

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# aufs bookkeeping names (.wh..wh.plnk, .wh..wh.aufs): meaningless here, skipped
AUFS_META_PREFIX = ".wh..wh."


def clean_member_path(name: str) -> str:
    """Normalise a tar member name to ``a/b/c`` ('' is the root itself).

    Refuses absolute names and any name that climbs out of the root with ``..``.
    """
    if "\x00" in name:
        raise UnsafeArchive(f"refusing tar entry {name!r}: NUL byte in the name")
    if name.startswith("/"):
        raise UnsafeArchive(f"refusing tar entry {name!r}: absolute path")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UnsafeArchive(f"refusing tar entry {name!r}: '..' escapes the root")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def member_path(ti: tarfile.TarInfo) -> str:
    """The entry's cleaned path ('' for the root itself, which must be a directory)."""
    path = clean_member_path(ti.name)
    if not path and not ti.isdir():
        raise UnsafeArchive(f"refusing tar entry {ti.name[:200]!r}: the root must be a directory")
    return path


def split_parent(path: str) -> tuple[str, str]:
    """('a/b', 'c') for 'a/b/c'; ('', 'c') for 'c'."""
    parent, _, base = path.rpartition("/")
    return parent, base


def is_within(path: str) -> bool:
    """True if a cleaned relative path stays inside the root (property-test helper)."""
    full = posixpath.normpath(posixpath.join("/root", path))
    return full == "/root" or full.startswith("/root/")


class ShapeChecker:
    """Refuse, without extracting, what the extractor (unpack.py) would refuse: so a bad
    layer is refused when it enters the store (import, load), not at its first ``run``.
    It follows what the entries make, as the extractor does on disk: each path's kind,
    the directories implied by deeper entries, what a later entry replaces or whites out.
    Per-entry checks are tarentry's, the extractor's own. xattrs are tried for real on
    a probe file (``probe``: a scratch dir on the store's filesystem), since only the
    kernel and the filesystem know which names and values they take; without one they
    are not checked."""

    def __init__(self, probe: str | None = None, is_root: bool | None = None) -> None:
        import os
        self.is_root = os.geteuid() == 0 if is_root is None else is_root
        self._kind: dict[str, str] = {}      # path -> "dir" | "file" | "symlink" | "special"
        self._written: dict[str, bool] = {}  # path -> is_dir, for entries (not implied dirs)
        self._dirs: list[tuple[str, tarfile.TarInfo]] = []
        from sampan.store.tarentry import XattrProbe
        self._xattrs = XattrProbe(probe, self.is_root)

    def check(self, ti) -> None:
        from sampan.store import tarentry as te
        name = ti.name
        path = member_path(ti)
        if not path:
            self._dirs.append(("", ti))
            return
        parent, base = split_parent(path)
        self._parent_dirs(parent, name)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent, base, name)
            return
        te.check_component(base, name)
        kind = te.kind_of(ti)
        if kind == "dir":
            if self._kind.get(path) != "dir":
                self._remove(path)
                self._kind[path] = "dir"
            self._dirs.append((path, ti))
            self._written[path] = True
            return
        if kind == "hardlink":
            target = clean_member_path(ti.linkname)
            if target == path:
                return
            if self._written.get(target) is not False:
                raise te.refuse(name, f"hardlink to {ti.linkname[:200]!r}, which is not a file "
                                      "earlier in the archive")
            if target.startswith(path + "/"):
                raise te.refuse(name, f"hardlink to {ti.linkname[:200]!r} would replace the "
                                      "directory that holds its own target")
            linked = self._kind[target]
            self._remove(path)
            self._kind[path], self._written[path] = linked, False
            return
        te.mtime_ns(ti)
        if self.is_root:
            te.owner(ti)
        if kind == "file":
            self._xattrs.check(ti, is_dir=False)
        elif kind == "symlink":
            te.check_symlink(ti)
        elif not ti.isfifo():
            if not self.is_root:
                raise te.refuse(name, "device nodes can only be unpacked as root")
            te.device(ti)
        self._remove(path)
        self._kind[path], self._written[path] = kind, False

    def finish(self) -> None:
        """Directories get their metadata last, if still there (as the extractor does)."""
        from sampan.store import tarentry as te
        for path, ti in self._dirs:
            if path and self._kind.get(path) != "dir":
                continue  # replaced or whited out by a later entry
            te.mtime_ns(ti)
            if self.is_root:
                te.owner(ti)
            self._xattrs.check(ti, is_dir=True)

    def _parent_dirs(self, parent: str, name: str) -> None:
        from sampan.store.tarentry import check_component, refuse
        if not parent:
            return
        parts = parent.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            kind = self._kind.get(prefix)
            if kind is None:
                check_component(parts[i - 1], name)
                self._kind[prefix] = "dir"  # made on the way, as the extractor does
            elif kind == "symlink":
                raise refuse(name, f"{prefix!r} is a symlink; writing through it could escape the root")
            elif kind != "dir":
                raise refuse(name, f"{prefix!r} is not a directory")

    def _whiteout(self, parent: str, base: str, name: str) -> None:
        from sampan.store.tarentry import check_component, refuse
        if base == OPAQUE_MARKER:
            if not self.is_root:
                raise refuse(name, "marking a directory opaque needs root")
            return
        if base.startswith(AUFS_META_PREFIX):
            return
        target = base[len(WHITEOUT_PREFIX):]
        if target in ("", ".", ".."):
            raise refuse(name, "whiteout of nothing")
        tpath = f"{parent}/{target}" if parent else target
        if tpath in self._written:
            return  # hides lower layers only, never its own layer's files
        check_component(target, name)
        if not self.is_root:
            raise refuse(name, "unpacking whiteouts needs root")
        self._remove(tpath)
        self._kind[tpath] = "special"  # the overlay whiteout, a 0/0 char device

    def _remove(self, path: str) -> None:
        """What the extractor's replace does: the path, and all below it if a directory."""
        self._written.pop(path, None)
        if self._kind.pop(path, None) == "dir":
            prefix = path + "/"
            for table in (self._kind, self._written):
                for k in [k for k in table if k.startswith(prefix)]:
                    del table[k]
