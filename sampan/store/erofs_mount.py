"""Mounting a layer's EROFS image (store/erofs_image.py) read-only where its dir would be.

Linux 6.12 and later mount an EROFS image from a regular file (no loop device). Whether
this kernel does is found once per process by mounting a tiny image; without it, or with
SAMPAN_LAYER_FORMAT=dir, layers are unpacked into directories as before.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import tempfile
from pathlib import Path

MS_RDONLY = 1
MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)
_supported: bool | None = None


def _mount(source: bytes, target: bytes) -> None:
    if _libc.mount(source, target, b"erofs", MS_RDONLY, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"cannot mount the layer image {source.decode(errors='replace')}: "
                         f"{os.strerror(e)}")


def mount(image: Path | str, target: Path | str) -> None:
    """Mount image (an EROFS file) read-only on target (an empty dir)."""
    _mount(os.fsencode(str(image)), os.fsencode(str(target)))


def unmount(target: Path | str) -> None:
    """Detach every mount stacked on target; an overlay using it keeps its own reference."""
    path = os.fsencode(str(target))
    for _ in range(16):
        if not is_mounted(target):
            return
        if _libc.umount2(path, MNT_DETACH) != 0:
            e = ctypes.get_errno()
            if e in (errno.EINVAL, errno.ENOENT):
                return
            raise OSError(e, f"cannot unmount {target}: {os.strerror(e)}")


def is_mounted(target: Path | str) -> bool:
    """True when something is mounted on target (its device differs from its parent's)."""
    try:
        st = os.lstat(target)
        parent = os.lstat(os.path.dirname(os.path.abspath(target)))
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_dev != parent.st_dev


def supported(scratch: Path | str | None = None) -> bool:
    """Whether layers may be EROFS images here: root, no SAMPAN_LAYER_FORMAT=dir, and a
    kernel that mounts an image file (tried once per process, in scratch)."""
    global _supported
    if os.environ.get("SAMPAN_LAYER_FORMAT", "image") == "dir" or os.geteuid() != 0:
        return False
    if _supported is None:
        _supported = _probe(scratch)
    return _supported


def _probe(scratch: Path | str | None) -> bool:
    try:
        with open("/proc/filesystems") as f:
            if not any(line.split()[-1:] == ["erofs"] for line in f):
                return False
    except OSError:
        return False
    from sampan.store.erofs_image import ImageWriter, Inode
    from sampan.store.tempfiles import temp_name
    if scratch:   # named as the store's temp files are: a crash's leftover is swept
        os.makedirs(str(scratch), 0o700, exist_ok=True)
        base = os.path.join(str(scratch), temp_name("probe"))
        os.mkdir(base, 0o700)
    else:
        base = tempfile.mkdtemp()
    image, mnt = os.path.join(base, "probe.erofs"), os.path.join(base, "mnt")
    try:
        os.mkdir(mnt, 0o700)
        fd = os.open(image, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            ImageWriter(fd).finish(Inode(stat.S_IFDIR | 0o755))
        finally:
            os.close(fd)
        try:
            mount(image, mnt)
        except OSError:
            return False
        unmount(mnt)
        return True
    finally:
        import shutil
        shutil.rmtree(base, ignore_errors=True)
