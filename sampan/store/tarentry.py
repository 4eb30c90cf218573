"""What one tar entry may carry: the checks and conversions the extractor (unpack.py)
and the entry-time checker (tarpath.ShapeChecker) share, so that a layer the store
accepts is a layer that unpacks. Each refusal is an UnsafeArchive naming the entry.
"""

from __future__ import annotations

import errno
import os
import tarfile

from sampan.errors import UnsafeArchive

XATTR_PAX_PREFIX = "SCHILY.xattr."
NAME_MAX = 255          # bytes in one path component (ext4, xfs, overlayfs)
LINK_MAX = 4095         # bytes in a symlink's target (PATH_MAX less its NUL)
# xattr errors that an entry's own name or value causes (vs. a full disk, an I/O error)
XATTR_ERRNOS = {errno.EINVAL, errno.ERANGE, errno.E2BIG, errno.ENOSPC, errno.EPERM, errno.EACCES}


def refuse(name: str, why: str) -> UnsafeArchive:
    return UnsafeArchive(f"refusing tar entry {name[:200]!r}: {why}")


def kind_of(ti: tarfile.TarInfo) -> str:
    """'dir', 'file', 'symlink', 'hardlink' or 'special' (fifo, char or block device)."""
    if ti.isdir():
        return "dir"
    if ti.islnk():
        return "hardlink"
    if ti.isreg():
        return "file"
    if ti.issym():
        return "symlink"
    if ti.ischr() or ti.isblk() or ti.isfifo():
        return "special"
    raise refuse(ti.name, f"unsupported entry type {ti.type!r}")


def check_component(part: str, name: str) -> None:
    try:
        size = len(os.fsencode(part))
    except UnicodeError:
        raise refuse(name, "its name cannot be encoded as a file name") from None
    if size > NAME_MAX:
        raise refuse(name, f"a path component is {size} bytes (File name too long)")


def check_symlink(ti: tarfile.TarInfo) -> None:
    target = ti.linkname
    if not target:
        raise refuse(ti.name, "symlink with an empty target")
    if "\x00" in target:
        raise refuse(ti.name, "NUL byte in the symlink target")
    try:
        size = len(os.fsencode(target))
    except UnicodeError:
        raise refuse(ti.name, "its symlink target cannot be encoded") from None
    if size > LINK_MAX:
        raise refuse(ti.name, f"symlink target of {size} bytes (File name too long)")


def owner(ti: tarfile.TarInfo) -> tuple[int, int]:
    uid, gid = ti.uid, ti.gid
    if not (isinstance(uid, int) and isinstance(gid, int) and 0 <= uid < 2**32 and 0 <= gid < 2**32):
        raise refuse(ti.name, f"owner {uid}:{gid} is not a 32-bit uid:gid")
    return uid, gid


def mtime_ns(ti: tarfile.TarInfo) -> int:
    try:
        ns = int(round(float(ti.mtime) * 1_000_000_000))
    except (OverflowError, ValueError, TypeError):
        raise refuse(ti.name, f"impossible modification time {ti.mtime!r}") from None
    if not -2**63 <= ns // 1_000_000_000 < 2**63:  # a time_t
        raise refuse(ti.name, f"impossible modification time {ti.mtime!r}")
    return ns


def device(ti: tarfile.TarInfo) -> int:
    try:
        return os.makedev(ti.devmajor, ti.devminor)
    except (OverflowError, ValueError, TypeError):
        raise refuse(ti.name, f"impossible device number {ti.devmajor}:{ti.devminor}") from None


def member_xattrs(ti: tarfile.TarInfo) -> dict[str, bytes]:
    """xattrs carried in PAX headers, minus overlayfs' own (a tar must not forge those)."""
    out = {}
    for k, v in (ti.pax_headers or {}).items():
        if k.startswith(XATTR_PAX_PREFIX):
            name = k[len(XATTR_PAX_PREFIX):]
            if name.startswith("trusted.overlay."):
                continue
            out[name] = v.encode("utf-8", "surrogateescape")
    return out


def set_xattrs(target, ti: tarfile.TarInfo, is_root: bool) -> None:
    """Set the entry's xattrs on target (an fd or path); what the kernel does not support
    here is skipped, what it refuses refuses the entry (a security.capability that is not
    a v2 or v3 header, a name or value too long for the filesystem)."""
    for name, value in member_xattrs(ti).items():
        try:
            os.setxattr(target, name, value)
        except (ValueError, UnicodeError):
            raise refuse(ti.name, f"invalid xattr name {name[:60]!r}") from None
        except OSError as e:
            if e.errno == errno.ENOTSUP or (e.errno == errno.EPERM and not is_root):
                continue  # trusted.* / security.* need root; user.* may be unsupported
            if e.errno in XATTR_ERRNOS:
                raise refuse(ti.name, f"cannot set xattr {name[:60]!r} ({len(value)} bytes): "
                                      f"{e.strerror}") from None
            raise


class XattrProbe:
    """An entry's xattrs, tried on a scratch file (or dir) made in probe and removed again:
    the kernel and the filesystem decide which names and values they take, and whoever
    extracts nothing (the shape checker, an EROFS image) must refuse what the extractor
    would. Each distinct set is tried once; without a probe dir nothing is tried."""

    def __init__(self, probe: str | None, is_root: bool) -> None:
        self.probe, self.is_root = probe, is_root
        self._tried: set[tuple[bool, tuple]] = set()

    def check(self, ti: tarfile.TarInfo, is_dir: bool) -> dict[str, bytes]:
        """The entry's xattrs (member_xattrs), once the kernel took them on a probe."""
        xattrs = member_xattrs(ti)
        if not xattrs or self.probe is None:
            return xattrs
        key = (is_dir, tuple(sorted(xattrs.items())))
        if key in self._tried:
            return xattrs
        target = os.path.join(self.probe, "xattr-probe-d" if is_dir else "xattr-probe-f")
        if is_dir:
            os.mkdir(target, 0o700)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        try:
            set_xattrs(target, ti, self.is_root)
        finally:
            (os.rmdir if is_dir else os.unlink)(target)
        self._tried.add(key)
        return xattrs


def write_member(fd: int, src, chunk: int = 1 << 20) -> None:
    """All of a member's content (a file object) into fd: os.write may write less than asked."""
    while data := src.read(chunk):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
