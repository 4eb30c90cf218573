"""Tar members of a tree walked through fds (walk_at): export, cp, and the layer of
a container's upper dir all describe entries this way.

A header says what fstat of the entry's own fd said, and the content is read from
that same inode, exactly as many bytes as the header announced (a file that grows
or shrinks while it is read is cut or padded with NULs: a live container writes
while we read, and a short file must not end the stream in an internal error).
No user or group names (no NSS lookup, on the host or in the container).
"""

from __future__ import annotations

import os
import stat
import tarfile

from sampan.store.walk_at import Node, walk

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, Iterator

XATTR_PAX_PREFIX = "SCHILY.xattr."
CHUNK = 1 << 20

class ExactReader:
    """Reads exactly `size` bytes of an fd: what the file holds, then NULs if it shrank.
    Owns the fd."""

    def __init__(self, fd: int, size: int):
        self.fd = fd
        self.left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self.left:
            n = self.left
        if n == 0:
            return b""
        parts, want = [], n
        while want:
            chunk = os.read(self.fd, min(want, CHUNK))
            if not chunk:
                parts.append(b"\0" * want)  # truncated while we read
                break
            parts.append(chunk)
            want -= len(chunk)
        self.left -= n
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "ExactReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def header(node: Node, name: str) -> tarfile.TarInfo | None:
    """The header of `node` named `name`, without xattrs or hardlink detection; None
    for a socket (it cannot live in an archive; Docker skips them too)."""
    st = node.st
    ti = tarfile.TarInfo(name)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        ti.type = tarfile.DIRTYPE
    elif stat.S_ISREG(mode):
        ti.type = tarfile.REGTYPE
        ti.size = st.st_size
    elif stat.S_ISLNK(mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = node.readlink()
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        ti.type = tarfile.FIFOTYPE
    else:
        return None
    return ti


def pax_xattrs(xattrs: dict[str, bytes]) -> dict[str, str]:
    return {XATTR_PAX_PREFIX + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}


def default_xattrs(node: Node) -> dict[str, bytes]:
    # overlayfs' own bookkeeping never leaves the host (the merged view hides it anyway)
    return {k: v for k, v in node.xattrs().items() if not k.startswith("trusted.overlay.")}


class Members:
    """Nodes -> (TarInfo, content reader or None). Keeps the hardlink table, so the
    second name of a file is a link to the first one emitted."""

    def __init__(self, xattrs: Callable[[Node], dict[str, bytes]] | None = default_xattrs):
        self.xattrs = xattrs
        self.links: dict[tuple[int, int], str] = {}

    def member(self, node: Node, name: str):
        ti = header(node, name)
        if ti is None:
            return None
        if self.xattrs is not None:
            ti.pax_headers = pax_xattrs(self.xattrs(node))
        if not ti.isreg():
            return ti, None
        key = (node.st.st_dev, node.st.st_ino)
        if node.st.st_nlink > 1:
            first = self.links.get(key)
            if first is not None:
                ti.type, ti.linkname, ti.size = tarfile.LNKTYPE, first, 0
                return ti, None
            self.links[key] = name
        return ti, ExactReader(node.open_file(), ti.size)

    def tree(self, top: Node, name: str | None) -> Iterator:
        """`top` itself named `name` (skipped when None), then, for a directory, every
        entry below it named `name/...` (bare names when `name` is None or "")."""
        if name is not None:
            m = self.member(top, name)
            if m is None:
                return
            yield m
        if top.is_dir():
            for node in walk(top, prefix=name or ""):
                m = self.member(node, node.rel)
                if m is not None:
                    yield m


def write(out: BinaryIO, members: Iterator) -> int:
    """Write members as a PAX tar stream to `out`; returns the member count."""
    count = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for ti, reader in members:
            try:
                tar.addfile(ti, reader)
            finally:
                if reader is not None:
                    reader.close()
            count += 1
    return count
