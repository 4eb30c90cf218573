"""Turn an overlayfs upper directory into a layer tar (the container's changes).

Overlay records a deleted file as a char device 0/0 (-> ``.wh.NAME``) and a
directory that hides everything below it with ``trusted.overlay.opaque=y``
(-> ``DIR/.wh..wh..opq``). The output is reproducible: names sorted, no user
or group names (no host NSS), mtimes in whole seconds as on disk, xattrs in
sorted order. The overlay must be mounted without metacopy and redirect_dir
(the Debian defaults), else the upper dir does not hold whole files.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from pathlib import Path

from sampan.errors import InvalidState
from sampan.store.tarpath import OPAQUE_MARKER, WHITEOUT_PREFIX
from sampan.store.unpack import OPAQUE_XATTR, XATTR_PAX_PREFIX

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import BinaryIO


# With these, the upper dir holds pointers into the lower layers, which a tar cannot express.
_INCOMPLETE_MARKS = {"trusted.overlay.metacopy": "metadata-only copy-up",
                     "trusted.overlay.redirect": "renamed-directory redirect"}


def _xattrs(path: str) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    out = {}
    for name in sorted(names):
        if name in _INCOMPLETE_MARKS:
            raise InvalidState(f"{path} is an overlay {_INCOMPLETE_MARKS[name]}, not a whole "
                               "copy: mount overlays with metacopy=off,redirect_dir=off to "
                               "commit their upper dirs")
        if name.startswith("trusted.overlay."):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
                continue
            raise
        out[XATTR_PAX_PREFIX + name] = value.decode("utf-8", "surrogateescape")
    return out


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _header(name: str, st: os.stat_result) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    return ti


class _UpperWriter:
    def __init__(self, upper: Path, tar: tarfile.TarFile):
        self.upper = str(upper)
        self.tar = tar
        self.links: dict[tuple[int, int], str] = {}
        self.count = 0

    def walk(self, rel: str) -> None:
        full = os.path.join(self.upper, rel) if rel else self.upper
        for name in sorted(os.listdir(full)):
            self.entry(f"{rel}/{name}" if rel else name)

    def _add(self, ti: tarfile.TarInfo, fileobj: BinaryIO | None = None) -> None:
        self.tar.addfile(ti, fileobj)
        self.count += 1

    def entry(self, rel: str) -> None:
        path = os.path.join(self.upper, rel)
        st = os.lstat(path)
        mode = st.st_mode
        if stat.S_ISCHR(mode) and st.st_rdev == 0:
            parent, _, base = rel.rpartition("/")
            wh = f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base
            ti = _header(wh, st)
            ti.type = tarfile.REGTYPE
            self._add(ti)
            return
        ti = _header(rel, st)
        ti.pax_headers = _xattrs(path)
        if stat.S_ISDIR(mode):
            ti.type = tarfile.DIRTYPE
            self._add(ti)
            if _is_opaque(path):
                opq = _header(f"{rel}/{OPAQUE_MARKER}", st)
                opq.mode = 0
                opq.type = tarfile.REGTYPE
                self._add(opq)
            self.walk(rel)
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.links:
                ti.type = tarfile.LNKTYPE
                ti.linkname = self.links[key]
                self._add(ti)
                return
            self.links[key] = rel
            ti.type = tarfile.REGTYPE
            ti.size = st.st_size
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as f:
                self._add(ti, f)
        elif stat.S_ISLNK(mode):
            ti.type = tarfile.SYMTYPE
            ti.linkname = os.readlink(path)
            self._add(ti)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self._add(ti)
        elif stat.S_ISFIFO(mode):
            ti.type = tarfile.FIFOTYPE
            self._add(ti)
        # sockets are skipped, as Docker does: they cannot live in an image


def upper_has_changes(upper: Path) -> bool:
    try:
        with os.scandir(upper) as it:
            return any(True for _ in it)
    except FileNotFoundError:
        return False


def write_upper_tar(upper: Path, out) -> int:
    """Write the tar of ``upper`` into the writable ``out``; returns the entry count."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        w = _UpperWriter(upper, tar)
        w.walk("")
    return w.count
