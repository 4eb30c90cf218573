"""Fork a child into a pid namespace without moving the caller into it.

unshare(CLONE_NEWPID) / setns(pidns) only change where the caller's *next*
children go; we fork once and point the caller back at its own namespace.
"""

from __future__ import annotations

import os
from typing import Callable

from sampan.runtime.syscalls import CLONE_NEWPID


def fork_in_pidns(sys, child: Callable[[], None], new_ns: bool = False, join_fd: int | None = None) -> int:
    """Run child() in a forked process (it must not return); returns the child's host pid."""
    if not new_ns and join_fd is None:
        return _fork(child)
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if join_fd is not None:
            sys.setns(join_fd, CLONE_NEWPID)
        else:
            sys.unshare(CLONE_NEWPID)
        try:
            return _fork(child)
        finally:
            sys.setns(own, CLONE_NEWPID)
    finally:
        os.close(own)


def _fork(child: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            child()
        finally:
            os._exit(1)
    return pid
