"""A build step's root as a place to write: its own `upper` dir over the image's layers.

Paths resolve as inside the image's root (MergedView: every layer's symlinks
followed, absolute ones and `..` scoped to the root), so a link a base layer,
an earlier RUN or an earlier source planted can point anywhere and still only
lead to another place inside the image. The resolved path is then walked in
`upper` one component at a time with O_NOFOLLOW, from an fd: a directory
missing in upper is made there, with the metadata of the lower directory it
stands for (so the layer leaves it unchanged) or 0755 and the given owner.

This is the `Tree` of sampan.store.extract_at: ADD's archives, COPY's files,
heredocs, URLs and WORKDIR all write through it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from sampan.store.merged_view import MergedView
from sampan.state import inroot

_DIR_PATH = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LayerTree:
    def __init__(self, upper: Path, lowers: list[Path]):
        self.view = MergedView([upper] + list(lowers))
        self.lower_view = MergedView(list(lowers))
        self.upper_fd = inroot.open_root(upper)

    def close(self) -> None:
        if self.upper_fd >= 0:
            os.close(self.upper_fd)
            self.upper_fd = -1

    def __enter__(self) -> "LayerTree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, path: str) -> str:
        """The canonical absolute path `path` names in the image (every link followed)."""
        return self.view.resolve(path)

    def open_dir(self, path: str, create: bool, owner: tuple[int, int] | None = None,
                 last: tuple[int, tuple[int, int] | None] | None = None) -> int:
        """An O_PATH fd of the directory `path` names in the image, in upper.
        With `create`, missing directories are made (a lower directory's metadata
        copied, else 0755 and `owner`); `last` = (mode, owner) for the final
        component when it is new. NotADirectoryError when a non-directory is in the way."""
        parts = [p for p in self.resolve(path).split("/") if p]
        cur = os.dup(self.upper_fd)
        try:
            for i, part in enumerate(parts):
                try:
                    nxt = os.open(part, _DIR_PATH, dir_fd=cur)
                except FileNotFoundError:
                    if not create:
                        raise
                    final = last if i == len(parts) - 1 else None
                    nxt = self._make(cur, "/".join(parts[:i + 1]), part, owner, final)
                except OSError as e:
                    if e.errno in (errno.ENOTDIR, errno.ELOOP):
                        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of a directory",
                                                 "/" + "/".join(parts[:i + 1])) from None
                    raise
                os.close(cur)
                cur = nxt
            out, cur = cur, -1
            return out
        finally:
            if cur >= 0:
                os.close(cur)

    def _make(self, pfd: int, rel: str, name: str, owner, final) -> int:
        lower = self.lower_view.find(rel)
        lst = os.lstat(lower) if lower is not None else None
        if lst is not None and not stat.S_ISDIR(lst.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of a directory", "/" + rel)
        os.mkdir(name, 0o700, dir_fd=pfd)
        fd = os.open(name, _DIR_PATH, dir_fd=pfd)
        try:
            rfd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
            try:
                if lst is not None:  # stands for a lower dir: keep what it was
                    _fchown(rfd, lst.st_uid, lst.st_gid)
                    os.fchmod(rfd, stat.S_IMODE(lst.st_mode))
                    os.utime(rfd, ns=(lst.st_atime_ns, lst.st_mtime_ns))
                else:
                    mode, who = final if final is not None else (0o755, owner)
                    if who is not None:
                        _fchown(rfd, *who)
                    elif owner is not None:
                        _fchown(rfd, *owner)
                    os.fchmod(rfd, mode)
            finally:
                os.close(rfd)
        except BaseException:
            os.close(fd)
            raise
        return fd


def _fchown(fd: int, uid: int, gid: int) -> None:
    """Owners can only be set as root (unit tests run without): not an error then."""
    if os.geteuid() == 0:
        os.fchown(fd, uid, gid)
