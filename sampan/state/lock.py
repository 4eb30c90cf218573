"""Advisory file locks (flock) so two CLIs never act on one object at once."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterator


@contextmanager
def file_lock(path: Path | str, shared: bool = False) -> Iterator[None]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
