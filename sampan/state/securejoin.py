"""Resolve a path inside a container root without ever leaving it.

A container image is hostile input: /etc/passwd may be a symlink to
/../../../host/file. Every component is resolved by hand, absolute links are
re-rooted and `..` never climbs above the root (as runc's securejoin does).
"""

from __future__ import annotations

import os
from pathlib import Path

_MAX_LINKS = 255


def secure_join(root: Path | str, unsafe: str) -> Path:
    root = os.path.realpath(root)
    parts = [p for p in unsafe.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            resolved.append(part)
            continue
        if not _is_link(st.st_mode):
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(40, "too many levels of symbolic links", unsafe)
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return Path(root, *resolved)


def _is_link(mode: int) -> bool:
    import stat
    return stat.S_ISLNK(mode)


def read_in_root(root: Path | str, path: str, limit: int = 4 * 1024 * 1024) -> bytes | None:
    """Read a regular file inside root, or None if absent. Size-limited: images are hostile."""
    p = secure_join(root, path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    return read_regular(fd, limit)


def read_regular(fd: int, limit: int) -> bytes | None:
    """The first `limit` bytes of the file open on fd if it is a regular one (not a FIFO
    that would block, a device, a directory), else None. Closes fd."""
    try:
        import stat
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)
