"""Extract a layer tar into a directory, treating the tar as hostile.

tarfile only parses; every filesystem change is ours, made relative to
directory file descriptors opened with O_NOFOLLOW (openat-style), so no entry
can reach outside the root: not with ``..``, not with an absolute name, not by
writing through a symlink an earlier entry planted, not by hardlinking to a
path outside the root or not yet extracted. Whiteouts become overlayfs
whiteouts: ``.wh.NAME`` -> char device 0/0, ``.wh..wh..opq`` -> the directory
gets ``trusted.overlay.opaque=y``.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.store.compression import Readable

from sampan.errors import PermissionDenied, UnsafeArchive
from sampan.store.tarentry import (XATTR_PAX_PREFIX, check_symlink, device, kind_of, member_xattrs,
                                   mtime_ns, owner, refuse, set_xattrs, write_member)
from sampan.store.tarpath import (AUFS_META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX,
                                  clean_member_path, member_path, split_parent)

__all__ = ["OPAQUE_XATTR", "XATTR_PAX_PREFIX", "SafeExtractor", "extract_tar", "member_xattrs"]

OPAQUE_XATTR = "trusted.overlay.opaque"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FD_CACHE_MAX = 64
# errors that an entry's own name or shape causes (too long, dir/file clash, link limits)
_ENTRY_ERRNOS = {errno.ENAMETOOLONG, errno.EINVAL, errno.EEXIST, errno.ENOTDIR, errno.EISDIR,
                 errno.ELOOP, errno.EMLINK, errno.ENOTEMPTY, errno.EXDEV}
CHUNK = 1 << 20


class SafeExtractor:
    """Apply tar members one by one under ``dest``. Use as a context manager."""

    def __init__(self, dest: Path, is_root: bool | None = None):
        self.is_root = os.geteuid() == 0 if is_root is None else is_root
        self.root_fd = os.open(dest, _DIR_FLAGS)
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._written: dict[str, bool] = {}  # path -> is_dir, for entries of this tar
        self._dirs: list[tuple[str, tarfile.TarInfo]] = []

    def __enter__(self) -> "SafeExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    # --- directory walking without following symlinks ---------------------
    def _dir_fd(self, path: str, create: bool, entry: str) -> int:
        if not path:
            return self.root_fd
        fd = self._fds.get(path)
        if fd is not None:
            self._fds.move_to_end(path)
            return fd
        parent, base = split_parent(path)
        pfd = self._dir_fd(parent, create, entry)
        try:
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise UnsafeArchive(f"refusing tar entry {entry!r}: {path!r} does not exist "
                                    "in this layer") from None
            os.mkdir(base, 0o755, dir_fd=pfd)
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
            why = "is a symlink; writing through it could escape the root" \
                if stat.S_ISLNK(st.st_mode) else "is not a directory"
            raise UnsafeArchive(f"refusing tar entry {entry!r}: {path!r} {why}") from None
        self._fds[path] = fd
        if len(self._fds) > _FD_CACHE_MAX:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def _forget(self, path: str, is_dir: bool) -> None:
        self._written.pop(path, None)
        if not is_dir:
            return
        prefix = path + "/"
        for k in [k for k in self._fds if k == path or k.startswith(prefix)]:
            os.close(self._fds.pop(k))
        for k in [k for k in self._written if k.startswith(prefix)]:
            del self._written[k]

    def _remove_existing(self, pfd: int, path: str, base: str) -> None:
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        self._forget(path, stat.S_ISDIR(st.st_mode))
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(base, dir_fd=pfd)
        else:
            os.unlink(base, dir_fd=pfd)

    # --- metadata (checked by tarentry, as the entry-time checker checks it) ------
    def _set_fd_meta(self, fd: int, ti: tarfile.TarInfo) -> None:
        ns = mtime_ns(ti)
        if self.is_root:
            os.fchown(fd, *owner(ti))  # before chmod: chown clears setuid bits
        os.fchmod(fd, ti.mode & 0o7777)
        set_xattrs(fd, ti, self.is_root)  # after chown: chown drops security.capability
        os.utime(fd, ns=(ns, ns))

    # --- entries ------------------------------------------------------------
    def apply(self, ti: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        name = ti.name
        path = member_path(ti)
        if not path:
            self._dirs.append(("", ti))
            return
        parent, base = split_parent(path)
        pfd = self._dir_fd(parent, True, name)
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(pfd, parent, base, name)
            return
        kind = kind_of(ti)
        if kind == "dir":
            try:
                st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
            except FileNotFoundError:
                st, is_dir = None, False
            if not is_dir:
                if st is not None:
                    self._remove_existing(pfd, path, base)
                os.mkdir(base, 0o700, dir_fd=pfd)
            self._dirs.append((path, ti))
            self._written[path] = True
            return
        if kind == "hardlink":
            self._hardlink(pfd, path, base, ti)
            return
        self._remove_existing(pfd, path, base)
        if kind == "file":
            self._regular(pfd, base, ti, tar)
        elif kind == "symlink":
            check_symlink(ti)
            ns = mtime_ns(ti)
            os.symlink(ti.linkname, base, dir_fd=pfd)
            if self.is_root:
                os.chown(base, *owner(ti), dir_fd=pfd, follow_symlinks=False)
            os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)
        else:
            self._special(pfd, base, ti, name)
        self._written[path] = False

    def _regular(self, pfd: int, base: str, ti: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            src = tar.extractfile(ti)
            if src is not None:
                write_member(fd, src, CHUNK)
            self._set_fd_meta(fd, ti)
        finally:
            os.close(fd)

    def _hardlink(self, pfd: int, path: str, base: str, ti: tarfile.TarInfo) -> None:
        target = clean_member_path(ti.linkname)
        if target == path:
            return
        if self._written.get(target) is not False:
            raise refuse(ti.name, f"hardlink to {ti.linkname[:200]!r}, which is not a file "
                                  "extracted earlier from this layer")
        if target.startswith(path + "/"):
            raise refuse(ti.name, f"hardlink to {ti.linkname[:200]!r} would replace the "
                                  "directory that holds its own target")
        tparent, tbase = split_parent(target)
        tfd = self._dir_fd(tparent, False, ti.name)
        self._remove_existing(pfd, path, base)
        os.link(tbase, base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        self._written[path] = False

    def _special(self, pfd: int, base: str, ti: tarfile.TarInfo, name: str) -> None:
        ns = mtime_ns(ti)
        ids = owner(ti) if self.is_root else None
        if ti.isfifo():
            os.mkfifo(base, 0o600, dir_fd=pfd)
        else:
            if not self.is_root:
                raise refuse(name, "device nodes can only be unpacked as root")
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            os.mknod(base, kind | 0o600, device(ti), dir_fd=pfd)
        # the node was just made by us and is not a symlink: name-based calls are safe
        if ids is not None:
            os.chown(base, *ids, dir_fd=pfd, follow_symlinks=False)
        os.chmod(base, ti.mode & 0o7777, dir_fd=pfd)
        os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _whiteout(self, pfd: int, parent: str, base: str, name: str) -> None:
        if base == OPAQUE_MARKER:
            try:
                os.setxattr(pfd, OPAQUE_XATTR, b"y")
            except PermissionError:
                raise PermissionDenied(f"cannot mark {parent or '/'!r} opaque for tar entry "
                                       f"{name!r}: unpacking whiteouts needs root") from None
            return
        if base.startswith(AUFS_META_PREFIX):
            return
        target = base[len(WHITEOUT_PREFIX):]
        if target in ("", ".", ".."):
            raise refuse(name, "whiteout of nothing")
        tpath = f"{parent}/{target}" if parent else target
        if tpath in self._written:
            return  # a whiteout hides lower layers only, never its own layer's files (OCI spec)
        self._remove_existing(pfd, tpath, target)
        try:
            os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(0, 0), dir_fd=pfd)
        except PermissionError:
            raise PermissionDenied(f"cannot create the overlay whiteout for tar entry {name!r}: "
                                   "unpacking whiteouts needs root") from None

    def finish(self) -> None:
        """Directory metadata last, deepest first: adding children changes a dir's mtime."""
        for path, ti in sorted(self._dirs, key=lambda d: d[0], reverse=True):
            try:
                fd = self._dir_fd(path, False, ti.name) if path else self.root_fd
            except UnsafeArchive:
                continue  # replaced or whited out by a later entry of the same tar
            with _entry_errors(ti.name):
                self._set_fd_meta(fd, ti)


@contextmanager
def _entry_errors(name: str, dest: Path | None = None):
    """An error that the entry itself causes refuses the layer in one line; a full disk
    or an I/O error is not the archive's fault and goes up as it is (naming the entry's
    path under dest when the write named no file)."""
    try:
        yield
    except OSError as e:
        if e.errno not in _ENTRY_ERRNOS:
            if e.filename is None and dest is not None:
                e.filename = str(dest / name)
            raise
        raise UnsafeArchive(f"cannot extract tar entry {name[:200]!r}: {e.strerror}") from None
    except (OverflowError, ValueError) as e:  # NULs in names, what tarentry did not foresee
        raise UnsafeArchive(f"cannot extract tar entry {name[:200]!r}: {e}") from None


def extract_tar(stream: Readable, dest: Path, is_root: bool | None = None,
                extractor: type[SafeExtractor] | None = None) -> int:
    """Extract a plain tar stream into dest (an existing dir). Returns the member count.
    extractor: SafeExtractor or a subclass (a pull's store/unpack_parallel.py)."""
    count = 0
    try:
        opened = tarfile.open(fileobj=stream, mode="r|")  # type: ignore[call-overload]  # a reader is all r| needs
        with opened as tar, (extractor or SafeExtractor)(dest, is_root) as ex:
            for ti in tar:
                with _entry_errors(ti.name, dest):
                    ex.apply(ti, tar)
                count += 1
            ex.finish()
    except tarfile.TarError as e:
        raise UnsafeArchive(f"invalid tar archive: {e}") from None
    return count
