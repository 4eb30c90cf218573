"""Extract a tar stream into a directory of a tree someone else controls.

Docker's rules (ADD of a local archive, ``docker cp`` into a container), with
every write made relative to directory fds:

- a member's name is cleaned lexically and must stay below the destination
  (``..`` climbing out is refused); a leading ``/`` counts from the destination;
- its parent directory is resolved *inside the root* (symlinks followed, but an
  absolute or climbing one is re-rooted: openat2 RESOLVE_IN_ROOT), missing
  directories are made;
- whatever is in the way of the member's last component is removed first (a
  symlink is unlinked, never opened; a directory stays only when the member is
  a directory too) and the new entry is created with O_EXCL|O_NOFOLLOW, so a
  symlink planted by an earlier member, a base layer or a running container is
  replaced, never written through;
- a hardlink must name a non-directory below the destination, resolved the same way;
- owners (or one given owner), modes (setuid too, set after chown), mtimes and
  xattrs are kept; ``security.capability`` only when well formed; overlayfs'
  own ``trusted.overlay.*`` never; device nodes only as root.

``tarfile`` only parses (Debian 12's Python 3.11.2 has no extraction filters):
``TarFile.extract`` is never used. A refused member raises ``ExtractRefused``
naming it; failures that are not the archive's fault (disk full, I/O) stay OSError.

Where members land is a ``Tree``: ``FdTree`` for a real directory (a container's
mounted root, a volume); the build supplies its own over an image's layers.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import struct
import tarfile
from dataclasses import dataclass
from typing import IO, BinaryIO, Callable, Protocol

from sampan.errors import UnsafeArchive
from sampan.state import inroot
from sampan.store.tarentry import write_member
from sampan.store.tarpath import AUFS_META_PREFIX, WHITEOUT_PREFIX

XATTR_PAX_PREFIX = "SCHILY.xattr."
CAP_XATTR = "security.capability"
CHUNK = 1 << 20
_CACHE_MAX = 64
# errors that a member's own name or shape causes (too long, dir/file clash, link limits)
_MEMBER_ERRNOS = {errno.ENAMETOOLONG, errno.EINVAL, errno.EEXIST, errno.ENOTDIR, errno.EISDIR,
                  errno.ELOOP, errno.EMLINK, errno.ENOTEMPTY, errno.EXDEV, errno.ENOENT,
                  errno.EPERM}
_DIR_PATH = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ExtractRefused(UnsafeArchive):
    """One archive member could not or must not be extracted; `member` names it."""

    def __init__(self, member: str, why: str):
        super().__init__(f"refusing archive entry {member!r}: {why}")
        self.member = member


@dataclass
class ExtractOptions:
    owner: tuple[int, int] | None = None  # every member gets this owner (ADD --chown, cp)
    keep_owner: bool | None = None  # the archive's numeric owners; None: when running as root
    chmod: int | None = None  # every file and directory gets this mode (COPY --chmod)
    devices: bool | None = None  # make device nodes; None: when root (skipped otherwise)
    no_overwrite_dir_nondir: bool = False  # docker cp: never swap a dir for a non-dir or back
    allow_whiteout_names: bool = False  # a `.wh.` name means a whiteout in an image layer


class Member(tarfile.TarInfo):
    """A header made from a file rather than read from an archive (COPY): an exact
    mtime in ns, and `opener` returning a readable for a regular file's bytes."""

    __slots__ = ("mtime_ns", "opener")

    def __init__(self, name: str = ""):
        super().__init__(name)
        self.mtime_ns: int | None = None
        self.opener: Callable[[], BinaryIO] | None = None


class Tree(Protocol):
    """Directories inside a root, opened (and made) without ever leaving it."""

    def open_dir(self, path: str, create: bool, owner: tuple[int, int] | None) -> int:
        """An O_PATH fd of directory `path` (absolute, inside the root, symlinks
        followed in the root), made with its missing parents (0755, `owner` or root)
        when `create`. FileNotFoundError / NotADirectoryError when it cannot be."""


class FdTree:
    """A real directory as the root: openat2 RESOLVE_IN_ROOT (or the O_NOFOLLOW walk)."""

    def __init__(self, rootfd: int):
        self.rootfd = rootfd

    def open_dir(self, path: str, create: bool, owner: tuple[int, int] | None = None) -> int:
        try:
            return inroot.open_in_root(self.rootfd, path, os.O_PATH | os.O_DIRECTORY)
        except FileNotFoundError:
            if not create:
                raise
        parent, base = inroot.split_parent(path)
        if not base:
            raise FileNotFoundError(errno.ENOENT, "the root itself is gone", path)
        pfd = self.open_dir(parent, True, owner)
        try:
            return make_dir(pfd, base, 0o755, owner)
        finally:
            os.close(pfd)


def make_dir(pfd: int, base: str, mode: int, owner: tuple[int, int] | None) -> int:
    """mkdir base in pfd (unless a directory is there) and return an O_PATH fd of it.
    A dangling symlink or a file in the way fails (ELOOP / ENOTDIR): Docker's MkdirAll
    does not replace them either."""
    try:
        os.mkdir(base, 0o700, dir_fd=pfd)
        made = True
    except FileExistsError:
        made = False
    try:
        fd = os.open(base, _DIR_PATH, dir_fd=pfd)
    except NotADirectoryError:
        if stat.S_ISLNK(os.stat(base, dir_fd=pfd, follow_symlinks=False).st_mode):
            raise FileNotFoundError(errno.ENOENT, f"{base!r} is a symlink to nothing inside "
                                    "the root; no directory is made through it") from None
        raise
    if made:
        with _Opened(fd) as rfd:
            if owner is not None and os.geteuid() == 0:
                os.fchown(rfd, *owner)
            os.fchmod(rfd, mode)
    return fd


class _Opened:
    """A readable fd of the directory an O_PATH fd holds (fchown/fchmod need one)."""

    def __init__(self, pathfd: int):
        self.pathfd = pathfd

    def __enter__(self) -> int:
        self.fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=self.pathfd)
        return self.fd

    def __exit__(self, *exc) -> None:
        os.close(self.fd)


def clean_name(name: str) -> str:
    """'a/b' for a member name, relative to the destination; '' for the destination
    itself. Docker's filepath.Clean: a leading '/' counts from the destination and
    `..` may not climb above it."""
    if "\x00" in name:
        raise ExtractRefused(name, "NUL byte in the name")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ExtractRefused(name, "'..' leads outside the destination")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def member_xattrs(ti: tarfile.TarInfo) -> dict[str, bytes]:
    """xattrs from PAX headers; never overlayfs' own, a capability only when well formed."""
    out = {}
    for k, v in (ti.pax_headers or {}).items():
        if not k.startswith(XATTR_PAX_PREFIX):
            continue
        name = k[len(XATTR_PAX_PREFIX):]
        value = v.encode("utf-8", "surrogateescape")
        if name.startswith("trusted.overlay."):
            continue
        if name == CAP_XATTR and not capability_ok(value):
            continue  # the kernel would refuse it, or worse, read garbage: drop it
        out[name] = value
    return out


def capability_ok(value: bytes) -> bool:
    """A vfs_cap_data of revision 1 (12 bytes), 2 (20) or 3 (24, with a root uid)."""
    if len(value) < 4:
        return False
    magic = struct.unpack_from("<I", value)[0]
    size = {0x01000000: 12, 0x02000000: 20, 0x03000000: 24}.get(magic & 0xFF000000)
    return size == len(value) and magic & 0x00FFFFFE == 0


def _mtime_ns(ti: tarfile.TarInfo) -> int:
    if isinstance(ti, Member) and ti.mtime_ns is not None:
        return ti.mtime_ns
    return int(round(float(ti.mtime) * 1_000_000_000))


class Extractor:
    """Apply members one by one below `dest` of `tree`; call finish() at the end."""

    def __init__(self, tree: Tree, dest: str = "/", options: ExtractOptions | None = None):
        self.tree = tree
        self.dest = "/" + clean_name(dest) if dest.strip("/") else "/"
        self.opts = options or ExtractOptions()
        self.is_root = os.geteuid() == 0
        self.keep_owner = self.is_root if self.opts.keep_owner is None else self.opts.keep_owner
        self.devices = self.is_root if self.opts.devices is None else self.opts.devices
        self._fds: dict[str, int] = {}  # member parent path -> O_PATH fd (a small cache)
        self._dirs: list[tuple[str, tarfile.TarInfo, int, int]] = []  # path, header, dev, ino

    def close(self) -> None:
        self._forget()

    def __enter__(self) -> "Extractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _forget(self, keep: int = -1) -> None:
        """Drop the cached parents (but `keep`, the one in use: a removal inside a
        directory never changes which directory its fd holds)."""
        for key, fd in list(self._fds.items()):
            if fd != keep:
                os.close(fd)
                del self._fds[key]

    def _full(self, rel: str) -> str:
        return posixpath.join(self.dest, rel) if rel else self.dest

    def _parent(self, rel: str) -> int:
        """The (cached) O_PATH fd of the directory that holds member path `rel`."""
        parent = posixpath.dirname(rel)
        fd = self._fds.get(parent)
        if fd is None:
            if len(self._fds) >= _CACHE_MAX:
                self._forget()  # nothing in use: called before the member's work
            fd = self.tree.open_dir(self._full(parent), True, self.opts.owner)
            self._fds[parent] = fd
        return fd

    def _owner(self, ti: tarfile.TarInfo) -> tuple[int, int] | None:
        if not self.is_root:
            return None  # owners can only be set as root; then files are the caller's
        if self.opts.owner is not None:
            return self.opts.owner
        return (ti.uid, ti.gid) if self.keep_owner else None

    # --- entries ------------------------------------------------------------
    def apply(self, ti: tarfile.TarInfo, tar: tarfile.TarFile | None = None) -> None:
        name = ti.name
        try:
            self._apply(ti, tar)
        except ExtractRefused:
            raise
        except OSError as e:
            if e.errno not in _MEMBER_ERRNOS:
                raise  # disk full, I/O error: not the archive's fault
            raise ExtractRefused(name, e.strerror or str(e)) from None
        except (OverflowError, ValueError) as e:  # absurd ids, times, NULs in link names
            raise ExtractRefused(name, str(e)) from None

    def _apply(self, ti: tarfile.TarInfo, tar: tarfile.TarFile | None) -> None:
        rel = clean_name(ti.name)
        if not rel:
            if not ti.isdir():
                raise ExtractRefused(ti.name, "the destination itself must be a directory")
            return  # the archive's "./": the destination exists and keeps its metadata
        base = posixpath.basename(rel)
        if base.startswith(WHITEOUT_PREFIX) and not self.opts.allow_whiteout_names:
            why = "overlay bookkeeping" if base.startswith(AUFS_META_PREFIX) else "a whiteout"
            raise ExtractRefused(ti.name, f"a '.wh.' name would be read as {why} in an image layer")
        if not (ti.isdir() or ti.isreg() or ti.issym() or ti.islnk() or ti.isfifo() or ti.isdev()):
            raise ExtractRefused(ti.name, f"unsupported entry type {ti.type!r}")
        if (ti.ischr() or ti.isblk()) and not self.devices:
            return  # as Docker in a user namespace: device nodes need root
        pfd = self._parent(rel)
        try:
            st = os.stat(base, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None:
            if ti.isdir() and stat.S_ISDIR(st.st_mode):
                self._directory(pfd, rel, base, ti, made=False)
                return
            if self.opts.no_overwrite_dir_nondir and stat.S_ISDIR(st.st_mode) != ti.isdir():
                kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a non-directory"
                raise ExtractRefused(ti.name, f"would replace {kind} at {self._full(rel)}")
            if ti.islnk() and clean_name(ti.linkname) == rel:
                return  # a hardlink to itself: nothing to do
            self._remove(pfd, base, st)
        if ti.isdir():
            os.mkdir(base, 0o700, dir_fd=pfd)
            self._directory(pfd, rel, base, ti, made=True)
        elif ti.isreg():
            self._regular(pfd, base, ti, tar)
        elif ti.issym():
            os.symlink(ti.linkname, base, dir_fd=pfd)
            self._node_meta(pfd, base, ti, symlink=True)
        elif ti.islnk():
            self._hardlink(pfd, rel, base, ti)
        else:
            self._special(pfd, base, ti)
        if any(k == rel or k.startswith(rel + "/") for k in self._fds):
            self._forget(keep=pfd)  # a cached parent resolved through a name now taken

    def _remove(self, pfd: int, base: str, st: os.stat_result) -> None:
        self._forget(keep=pfd)  # cached parents may lie below, or resolve through, what goes
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(base, dir_fd=pfd)  # fd-based walk: follows no symlink
        else:
            os.unlink(base, dir_fd=pfd)

    def _directory(self, pfd: int, rel: str, base: str, ti: tarfile.TarInfo, made: bool) -> None:
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            self._fd_meta(fd, ti, mode=self._mode(ti) | (0 if self.is_root else 0o700))
            st = os.fstat(fd)
        finally:
            os.close(fd)
        self._dirs.append((rel, ti, st.st_dev, st.st_ino))

    def _regular(self, pfd: int, base: str, ti: tarfile.TarInfo, tar: tarfile.TarFile | None) -> None:
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=pfd)
        try:
            src: IO[bytes] | None
            if isinstance(ti, Member):
                src = ti.opener() if ti.opener is not None else None
            else:
                assert tar is not None  # a header read from an archive comes with it
                src = tar.extractfile(ti)
            if src is not None:
                with src:
                    write_member(fd, src, CHUNK)
            self._fd_meta(fd, ti)
        finally:
            os.close(fd)

    def _hardlink(self, pfd: int, rel: str, base: str, ti: tarfile.TarInfo) -> None:
        try:
            target = clean_name(ti.linkname)
        except ExtractRefused:
            raise ExtractRefused(ti.name, f"hardlink to {ti.linkname!r}, outside the "
                                 "destination") from None
        if not target:
            raise ExtractRefused(ti.name, "hardlink to the destination directory")
        missing = ExtractRefused(ti.name, f"hardlink to {ti.linkname!r}, which does not exist "
                                 "below the destination")
        try:
            tfd = self.tree.open_dir(self._full(posixpath.dirname(target)), False, None)
        except (FileNotFoundError, NotADirectoryError):
            raise missing from None
        try:
            tbase = posixpath.basename(target)
            try:
                tst = os.stat(tbase, dir_fd=tfd, follow_symlinks=False)
            except FileNotFoundError:
                raise missing from None
            if stat.S_ISDIR(tst.st_mode):
                raise ExtractRefused(ti.name, f"hardlink to the directory {ti.linkname!r}")
            os.link(tbase, base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(tfd)

    def _special(self, pfd: int, base: str, ti: tarfile.TarInfo) -> None:
        if ti.isfifo():
            kind, dev = stat.S_IFIFO, 0
        else:
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            dev = os.makedev(ti.devmajor, ti.devminor)
        os.mknod(base, kind | 0o600, dev, dir_fd=pfd)
        self._node_meta(pfd, base, ti, symlink=False)

    # --- metadata -----------------------------------------------------------
    def _fd_meta(self, fd: int, ti: tarfile.TarInfo, mode: int | None = None) -> None:
        owner = self._owner(ti)
        if owner is not None:
            os.fchown(fd, *owner)  # before chmod: chown clears setuid bits
        os.fchmod(fd, self._mode(ti) if mode is None else mode)
        self._xattrs(fd, ti)  # after chown: chown drops security.capability
        ns = _mtime_ns(ti)
        os.utime(fd, ns=(ns, ns))

    def _mode(self, ti: tarfile.TarInfo) -> int:
        return ti.mode & 0o7777 if self.opts.chmod is None else self.opts.chmod

    def _node_meta(self, pfd: int, base: str, ti: tarfile.TarInfo, symlink: bool) -> None:
        """A symlink, fifo or device node made just now: name-based *at calls that
        never follow the last component, and an O_PATH fd for what needs an inode."""
        owner = self._owner(ti)
        if owner is not None:
            os.chown(base, *owner, dir_fd=pfd, follow_symlinks=False)
        if not symlink:
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                if not stat.S_ISLNK(os.fstat(fd).st_mode):  # chmod through /proc follows links
                    os.chmod(inroot.proc_path(fd), self._mode(ti))
                    self._xattrs(inroot.proc_path(fd), ti)
            finally:
                os.close(fd)
        ns = _mtime_ns(ti)
        os.utime(base, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _xattrs(self, target, ti: tarfile.TarInfo) -> None:
        for name, value in member_xattrs(ti).items():
            try:
                os.setxattr(target, name, value)
            except OSError as e:
                # as Docker: a filesystem without xattrs, or trusted.*/security.* without root
                if e.errno in (errno.ENOTSUP, errno.EPERM):
                    continue
                if e.errno == errno.EINVAL:
                    raise ExtractRefused(ti.name, f"invalid xattr {name!r}") from None
                raise

    def finish(self) -> None:
        """Directory modes and mtimes last, deepest first: children change a dir's mtime.
        Each is found again inside the root and touched only if it is the same inode."""
        self._forget()
        for rel, ti, dev, ino in sorted(self._dirs, key=lambda d: d[0], reverse=True):
            try:
                pfd = self.tree.open_dir(self._full(rel), False, None)
            except OSError:
                continue  # replaced or removed by a later member
            try:
                with _Opened(pfd) as fd:
                    st = os.fstat(fd)
                    if (st.st_dev, st.st_ino) != (dev, ino):
                        continue
                    os.fchmod(fd, self._mode(ti))
                    ns = _mtime_ns(ti)
                    os.utime(fd, ns=(ns, ns))
            finally:
                os.close(pfd)
        self._dirs.clear()


def extract_at(tar: tarfile.TarFile, root: int | Tree, dest: str = "/",
               options: ExtractOptions | None = None) -> int:
    """Extract every member of `tar` (may be a stream, mode 'r|*') below `dest`, a
    path inside `root` (a directory fd, or a Tree). Returns the member count.
    Raises ExtractRefused for the first member refused, UnsafeArchive for a tar
    that cannot be read."""
    tree = FdTree(root) if isinstance(root, int) else root
    count = 0
    with Extractor(tree, dest, options) as ex:
        try:
            for ti in tar:
                ex.apply(ti, tar)
                count += 1
        except (tarfile.TarError, EOFError) as e:
            raise UnsafeArchive(f"invalid tar archive: {e}") from None
        ex.finish()
    return count
