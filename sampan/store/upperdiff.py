"""Turn an overlayfs upper directory into a layer tar (the container's changes).

Overlay records a deleted file as a char device 0/0 (-> ``.wh.NAME``) and a
directory that hides everything below it with ``trusted.overlay.opaque=y``
(-> ``DIR/.wh..wh..opq``). The output is reproducible: names sorted, no user
or group names (no host NSS), mtimes in whole seconds as on disk, xattrs in
sorted order. The overlay must be mounted without metacopy and redirect_dir
(the Debian defaults), else the upper dir does not hold whole files.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

from sampan.errors import InvalidState
from sampan.state.inroot import open_root
from sampan.store.tar_at import Members, header, write
from sampan.store.tarpath import OPAQUE_MARKER, WHITEOUT_PREFIX
from sampan.store.unpack import OPAQUE_XATTR
from sampan.store.walk_at import Node, walk_fd

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterator


# With these, the upper dir holds pointers into the lower layers, which a tar cannot express.
_INCOMPLETE_MARKS = {"trusted.overlay.metacopy": "metadata-only copy-up",
                     "trusted.overlay.redirect": "renamed-directory redirect"}


def _upper_xattrs(node: Node) -> dict[str, bytes]:
    out = {}
    for name, value in node.xattrs().items():
        if name in _INCOMPLETE_MARKS:
            raise InvalidState(f"{node.rel} is an overlay {_INCOMPLETE_MARKS[name]}, not a whole "
                               "copy: mount overlays with metacopy=off,redirect_dir=off to "
                               "commit their upper dirs")
        if not name.startswith("trusted.overlay."):
            out[name] = value
    return out


def _is_opaque(node: Node) -> bool:
    try:
        return os.getxattr(node.proc_path, OPAQUE_XATTR) == b"y"
    except OSError:
        return False


def _upper_members(upper_fd: int) -> Iterator:
    """The layer's members: the walk of the upper dir (through fds: a running
    container changes it while we read), whiteouts and opaque dirs translated."""
    members = Members(xattrs=_upper_xattrs)
    for node in walk_fd(upper_fd):
        st = node.st
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            parent, _, base = node.rel.rpartition("/")
            ti = header(node, f"{parent}/{WHITEOUT_PREFIX}{base}" if parent else WHITEOUT_PREFIX + base)
            assert ti is not None  # None only for a socket
            ti.type, ti.devmajor, ti.devminor = tarfile.REGTYPE, 0, 0
            yield ti, None
            continue
        m = members.member(node, node.rel)
        if m is None:
            continue
        yield m
        if node.is_dir() and _is_opaque(node):
            opq = header(node, f"{node.rel}/{OPAQUE_MARKER}")
            assert opq is not None  # a directory's header
            opq.mode, opq.type = 0, tarfile.REGTYPE
            yield opq, None


def upper_has_changes(upper: Path) -> bool:
    try:
        with os.scandir(upper) as it:
            return any(True for _ in it)
    except FileNotFoundError:
        return False


def write_upper_tar(upper: Path, out) -> int:
    """Write the tar of ``upper`` into the writable ``out``; returns the entry count."""
    fd = open_root(upper)
    try:
        return write(out, _upper_members(fd))
    finally:
        os.close(fd)
