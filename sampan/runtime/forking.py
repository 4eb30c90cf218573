"""Fork a child into a pid namespace without moving the caller into it.

unshare(CLONE_NEWPID) / setns(pidns) only change where the caller's *next*
children go. The fast path forks once and points the caller back at its own
namespace. That is only safe while no other thread of the caller forks in
between (its child would land in the container, maybe as pid 1), so a caller
with several threads gets runc's way instead: an intermediate child enters the
namespace, forks the real one and exits, and the real one is reparented to
the caller (a subreaper). That costs one more fork.
"""

from __future__ import annotations

import os
import sys as _sys

from sampan.runtime.syscalls import CLONE_NEWPID

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Callable


_via_intermediate = False  # set in the intermediate child, so its own child inherits it


def forked_via_intermediate() -> bool:
    """In a child forked by fork_in_pidns: did an intermediate process (now gone) fork us,
    rather than the caller itself?"""
    return _via_intermediate


def _other_threads() -> bool:
    threading = _sys.modules.get("threading")
    return threading is not None and threading.active_count() > 1


def fork_in_pidns(sys, child: Callable[[], None], new_ns: bool = False, join_fd: int | None = None) -> int:
    """Run child() in a forked process (it must not return); returns the child's host pid."""
    if not new_ns and join_fd is None:
        return _fork(child)
    if _other_threads():
        return _fork_via_intermediate(sys, child, new_ns, join_fd)
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _enter(sys, new_ns, join_fd)
        try:
            return _fork(child)
        finally:
            sys.setns(own, CLONE_NEWPID)
    finally:
        os.close(own)


def _enter(sys, new_ns: bool, join_fd: int | None) -> None:
    if join_fd is not None:
        sys.setns(join_fd, CLONE_NEWPID)
    else:
        sys.unshare(CLONE_NEWPID)


def _fork_via_intermediate(sys, child: Callable[[], None], new_ns: bool, join_fd: int | None) -> int:
    r, w = os.pipe()
    mid = os.fork()
    if mid == 0:
        try:
            global _via_intermediate
            _via_intermediate = True
            os.close(r)
            _enter(sys, new_ns, join_fd)
            pid = _fork(child)
            os.write(w, pid.to_bytes(4, "little"))
            os._exit(0)
        finally:
            os._exit(1)
    os.close(w)
    try:
        data = os.read(r, 4)
    finally:
        os.close(r)
        os.waitpid(mid, 0)  # once it is gone, the real child is ours (we are a subreaper)
    if len(data) != 4:
        from sampan.errors import RuntimeFailure
        raise RuntimeFailure("could not fork into the container's pid namespace")
    return int.from_bytes(data, "little")


def _fork(child: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            child()
        finally:
            os._exit(1)
    return pid
