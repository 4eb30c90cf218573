"""How much a container's writable layer holds (Docker's SizeRw, for `ps -s`, `system df`).

The upper dir is the container's to change while it runs: it is walked by directory fds
(store/walk_at.py), so a name swapped for a symlink mid-walk is counted as the link, and
nothing outside the tree is ever reached (CVE-2018-15664)."""

from __future__ import annotations

import errno
import os


def rw_size(upper) -> int:
    """Apparent bytes of everything but directories below upper, each inode once (as
    Docker's directory.Size counts them: a hard link is not counted twice)."""
    from sampan.store.walk_at import walk_fd
    try:
        top = os.open(upper, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return 0  # not made yet, or already removed
        raise
    seen: set[tuple[int, int]] = set()
    total = 0
    try:
        for node in walk_fd(top):
            if node.is_dir():
                continue
            key = (node.st.st_dev, node.st.st_ino)
            if key not in seen:
                seen.add(key)
                total += node.st.st_size
    finally:
        os.close(top)
    return total
