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
