"""The fd-based mount calls (Linux 5.2 open_tree/move_mount, 5.12 mount_setattr).

A read-only bind made with mount(2) is two steps, bind then remount, and the
remount must find the new mount again by path: a container can swap that path
in between. Here the copy of the source is made read-only while it is still
detached, then attached onto a target held by an fd: no path is looked up twice.
"""

from __future__ import annotations

import ctypes
import os

# syscall numbers: the same on every architecture (allocated after the unification)
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_MOUNT_SETATTR = 442

OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


_libc = None


def _syscall(*args) -> int:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    rc = _libc.syscall(*args)
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def clone_tree(source: str) -> int:
    """A detached copy of the mount tree at `source` (a bind mount not yet attached)."""
    return _syscall(ctypes.c_long(_SYS_OPEN_TREE), ctypes.c_int(-100), os.fsencode(source),
                    ctypes.c_uint(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE))


def set_attrs(mount_fd: int, attr_set: int, recursive: bool = True) -> None:
    """mount_setattr (e.g. MOUNT_ATTR_RDONLY) on the mount whose root `mount_fd` holds,
    and with `recursive` on every mount below it."""
    attr = _MountAttr(attr_set, 0, 0, 0)
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(mount_fd), b"",
             ctypes.c_uint(flags), ctypes.byref(attr),
             ctypes.c_size_t(ctypes.sizeof(attr)))


def attach(tree_fd: int, target_fd: int) -> None:
    """move_mount the detached tree onto the directory or file `target_fd` holds."""
    _syscall(ctypes.c_long(_SYS_MOVE_MOUNT), ctypes.c_int(tree_fd), b"", ctypes.c_int(target_fd),
             b"", ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
