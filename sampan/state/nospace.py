"""Telling a full disk apart from other failures, and saying which path it hit.

A write on a full filesystem fails with ENOSPC (EDQUOT over a quota) from the os
module, often without a file name (os.write on a descriptor), or from SQLite as
SQLITE_FULL, or as SQLITE_IOERR when it could not grow its shared-memory or WAL
file. no_space() turns any of them into one NoSpace error naming the file, or else
the first of the given directories whose filesystem is (nearly) full.
"""

from __future__ import annotations

import errno
import os

from sampan.errors import NoSpace

_SQLITE_IOERR, _SQLITE_FULL = 10, 13
_NEARLY_FULL = 1 << 20  # bytes free below which a failed write is put down to space


def _free(path) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bfree * st.f_frsize if os.geteuid() == 0 else st.f_bavail * st.f_frsize


def require_free(path, need: int, inodes: int = 64) -> None:
    """Raise NoSpace unless path's filesystem has `need` bytes and `inodes` inodes free:
    for a command that is about to make something it could only half make on a full
    disk (and then perhaps not even undo, when the database cannot be written)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return  # not there yet: the writes themselves will tell
    free = st.f_bfree * st.f_frsize if os.geteuid() == 0 else st.f_bavail * st.f_frsize
    if free < need or (st.f_files and st.f_ffree < inodes):
        have = f"{free // 1024} KiB free" if free < need else f"{st.f_ffree} inodes free"
        raise NoSpace(f"no space left on device: {path} ({have}; at least {need // 1024} KiB needed)")


def _full_dir(dirs) -> str | None:
    """The first existing dir among dirs whose filesystem is nearly full."""
    for d in dirs:
        free = _free(d)
        if free is not None and free < _NEARLY_FULL:
            return str(d)
    return None


def no_space(exc: BaseException, dirs=(), db=None) -> NoSpace | None:
    """NoSpace for exc when it is a full disk, else None. dirs: where the command writes
    (the state root first), to name when exc names no file; db: the SQLite file."""
    if isinstance(exc, NoSpace):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on device" if exc.errno == errno.ENOSPC else "disk quota exceeded"
        where = exc.filename or _full_dir(dirs) or (str(dirs[0]) if dirs else None)
        return NoSpace(f"{what}: {where}" if where else what)
    code = getattr(exc, "sqlite_errorcode", None)  # sqlite3.Error, without importing sqlite3
    if code is not None and db is not None:
        primary = code & 0xFF
        if primary == _SQLITE_FULL or (primary == _SQLITE_IOERR and _full_dir([os.path.dirname(db)])):
            return NoSpace(f"no space left on device: {db}")
    return None
