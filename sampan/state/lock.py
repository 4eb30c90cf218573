"""Advisory file locks (flock) so two CLIs never act on one object at once.

A lock whose object is gone for good (a removed container, a torn-down sandbox)
is discarded: its holder unlinks the file before releasing it, so lock files do
not pile up under the run root, one per container ever made. That is safe
because every taker checks, once it holds a lock, that the path still names the
file it locked; a taker that waited on a discarded file starts again on a fresh
one. So at most one holder of a name exists at any time.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterator


def acquire(path: Path | str, shared: bool = False) -> int:
    """Lock path (made if missing); returns the open fd, whose close releases the lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            if _still_named(path, fd):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # discarded while we waited: take the fresh file instead


def _still_named(path: Path, fd: int) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def discard(path: Path | str) -> None:
    """Unlink a lock's file. Only while holding it exclusively, and only for good."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class HeldLock:
    __slots__ = ("path", "discarded")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.discarded = False

    def discard(self) -> None:
        """Remove the lock's file as it is released: its object is gone for good."""
        self.discarded = True


@contextmanager
def file_lock(path: Path | str, shared: bool = False) -> Iterator[HeldLock]:
    held = HeldLock(Path(path))
    fd = acquire(held.path, shared)
    try:
        yield held
    finally:
        if held.discarded:
            discard(held.path)  # before the release: nobody can take the old file after us
        os.close(fd)
