"""`stat` of a path inside a container, as the API's archive endpoints report it (Docker's
ContainerPathStat: the docker CLI's `cp` asks for it before it copies either way).

The path is resolved in the container's view (engine/fsview: its mounts included) through
fds, like cp itself; a final symlink is reported as a link, with the absolute path it
leads to inside the container."""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import time

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import InvalidArgument, NotFound
from sampan.state import inroot

_MAX_LINKS = 40

# Go's os.FileMode type bits (the JSON carries a Go FileMode, not a unix st_mode)
_GO_DIR, _GO_SYMLINK, _GO_DEVICE, _GO_PIPE, _GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
_GO_SETUID, _GO_SETGID, _GO_CHARDEV, _GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_file_mode(mode: int) -> int:
    out = stat.S_IMODE(mode) & 0o777
    kind = stat.S_IFMT(mode)
    out |= {stat.S_IFDIR: _GO_DIR, stat.S_IFLNK: _GO_SYMLINK, stat.S_IFBLK: _GO_DEVICE,
            stat.S_IFCHR: _GO_DEVICE | _GO_CHARDEV, stat.S_IFIFO: _GO_PIPE,
            stat.S_IFSOCK: _GO_SOCKET}.get(kind, 0)
    if mode & stat.S_ISUID:
        out |= _GO_SETUID
    if mode & stat.S_ISGID:
        out |= _GO_SETGID
    if mode & stat.S_ISVTX:
        out |= _GO_STICKY
    return out


def _rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def stat_path(ctx: Context, rec: ContainerRecord, path: str) -> dict:
    from sampan.engine.fsview import open_view

    if not path or not path.startswith("/") and not path.startswith("."):
        path = "/" + (path or "")
    clean = posixpath.normpath("/" + path)
    with ctx.container_lock(rec.id), open_view(ctx, rec, mounts=True) as view:
        st = _lstat(view.rootfd, clean, path)
        target = ""
        if stat.S_ISLNK(st.st_mode):
            target = _resolve(view.rootfd, clean, path)
    name = posixpath.basename(clean) or "/"
    return {"name": name, "size": st.st_size, "mode": go_file_mode(st.st_mode),
            "mtime": _rfc3339(st.st_mtime), "linkTarget": target}


def _lstat(rootfd: int, clean: str, label: str) -> os.stat_result:
    try:
        fd = inroot.open_in_root(rootfd, clean, os.O_PATH, follow=False)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            raise NotFound(f"Could not find the file {label} in container") from None
        raise
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _resolve(rootfd: int, path: str, label: str) -> str:
    """Where a chain of symlinks at `path` ends, inside the container (it may not exist)."""
    for _ in range(_MAX_LINKS):
        try:
            fd = inroot.open_in_root(rootfd, path, os.O_PATH, follow=False)
        except OSError:
            return path
        try:
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                return path
            target = os.readlink("", dir_fd=fd)
        finally:
            os.close(fd)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        path = "/" + path.lstrip("/")
    raise InvalidArgument(f"too many symbolic links in {label!r}")
