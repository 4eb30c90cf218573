"""Path rules for tar entries from strangers: relative, no escaping ``..``, no NUL.

Kept apart from the extractor so import (validate early) and unpack (enforce)
share one definition, and so property tests can hammer it alone.
"""

from __future__ import annotations

import posixpath

from sampan.errors import UnsafeArchive

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


def split_parent(path: str) -> tuple[str, str]:
    """('a/b', 'c') for 'a/b/c'; ('', 'c') for 'c'."""
    parent, _, base = path.rpartition("/")
    return parent, base


def is_within(path: str) -> bool:
    """True if a cleaned relative path stays inside the root (property-test helper)."""
    full = posixpath.normpath(posixpath.join("/root", path))
    return full == "/root" or full.startswith("/root/")


class ShapeChecker:
    """Refuse, without extracting, what the extractor would refuse: for errors at
    import time rather than at the first ``run``. Tracks what earlier entries made."""

    def __init__(self) -> None:
        self._kind: dict[str, str] = {}  # path -> "dir" | "file" | "symlink"

    def check(self, name: str, kind: str, linkname: str = "") -> None:
        path = clean_member_path(name)
        if not path:
            return
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if self._kind.get(prefix) == "symlink":
                raise UnsafeArchive(f"refusing tar entry {name!r}: {prefix!r} is a symlink; "
                                    "writing through it could escape the root")
        parent, base = split_parent(path)
        if base.startswith(WHITEOUT_PREFIX):
            if not base.startswith(AUFS_META_PREFIX):
                gone = f"{parent}/{base[len(WHITEOUT_PREFIX):]}" if parent else base[4:]
                self._kind.pop(gone, None)
            return
        if kind == "hardlink":
            target = clean_member_path(linkname)
            if self._kind.get(target) != "file":
                raise UnsafeArchive(f"refusing tar entry {name!r}: hardlink to {linkname!r}, "
                                    "which is not a file earlier in the archive")
            kind = "file"
        self._kind[path] = kind
