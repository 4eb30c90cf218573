"""`cp` between a container and the host, Docker's rules (engine/cp_paths.py).

Everything inside the container is reached from the host side, through fds: the
container's root and mounts come from engine/fsview (its own mount namespace), a
container path is resolved inside that root (openat2 RESOLVE_IN_ROOT), a source
tree is read with store/walk_at and written with store/extract_at, which never
follows a symlink out of its root and opens no name it has not just made. So a
container that swaps a path component for a symlink during the copy
(CVE-2018-15664) moves the copy, at most, somewhere else inside itself; and no
code of the container's is ever run or loaded (CVE-2019-14271: no chroot, no
exec, no NSS lookup; owners are numbers).

Owners: into a container, files are root's unless -a keeps the source's; out to
the host, the caller's unless -a. Without -a, what leaves a container loses its
setuid/setgid bits and file capabilities (owned by the caller they would grant
the caller's rights to anyone who runs them), and device nodes are not made on
the host (a container-made node would open the host's devices).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from typing import BinaryIO

from sampan.engine import cp_paths
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import InvalidArgument, InvalidState, NotFound, SampanError
from sampan.state import inroot

_MAX_LINKS = 40
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


def copy_from(ctx: Context, rec: ContainerRecord, ref: str, src: str, dst: str | BinaryIO,
              follow: bool = False, archive: bool = False) -> None:
    """Container path `src` to a local path `dst`, or as a tar stream to the writable `dst`."""
    from sampan.engine.fsview import open_view
    from sampan.store import tar_at

    sp = cp_paths.parse(src)
    if isinstance(dst, str):
        dp = cp_paths.parse(dst, cwd=os.getcwd())
        dpath, dexists, disdir = _local_dst_info(dp, dst)
    with ctx.container_lock(rec.id), open_view(ctx, rec, mounts=True) as view:
        with _open_container_src(view.rootfd, sp, follow, f"{ref}:{src}") as node:
            if not isinstance(dst, str):
                tar_at.write(dst, tar_at.Members().tree(node, cp_paths.top_name(sp)))
                return
            where = cp_paths.place(node.is_dir(), cp_paths.top_name(sp), _with_path(dp, dpath),
                                   dexists, disdir, dst)
            members = tar_at.Members(xattrs=None if not archive else tar_at.default_xattrs)
            stream = members.tree(node, where.name)
            if not archive:
                stream = _unprivileged(stream)
            try:
                dirfd = os.open(where.directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as e:
                raise NotFound(f"destination directory {where.directory!r}: {e.strerror}") from None
            try:
                _extract(stream, dirfd, "/", owner=None, keep_owner=archive, devices=False)
            finally:
                os.close(dirfd)


def copy_to(ctx: Context, rec: ContainerRecord, ref: str, src: str | BinaryIO, dst: str,
            follow: bool = False, archive: bool = False) -> None:
    """A local path `src`, or a tar stream read from `src`, to the container path `dst`."""
    from sampan.engine.fsview import open_view

    dp = cp_paths.parse(dst)
    label = f"{ref}:{dst}"
    node = None
    if isinstance(src, str):
        sp = cp_paths.parse(src, cwd=os.getcwd())
        node = _open_local_src(sp, follow, src)
    try:
        with ctx.container_lock(rec.id), open_view(ctx, rec, mounts=True) as view:
            dpath, dexists, disdir = _container_dst_info(view.rootfd, dp.path, label)
            owner = None if archive else (0, 0)
            if node is None:
                if not (dexists and disdir):
                    raise InvalidArgument(f'destination "{label}" must be a directory', exit_code=1)
                _check_writable(view, dpath, label)
                assert not isinstance(src, str)  # a path was opened as node
                _extract_stream(src, view.rootfd, dpath, owner, archive)
                return
            from sampan.store import tar_at

            # with -L the copy keeps the link's own name (Docker's rebase): sp.base either way
            where = cp_paths.place(node.is_dir(), cp_paths.top_name(sp),
                                   _with_path(dp, dpath), dexists, disdir, label)
            _check_writable(view, where.directory, f"{ref}:{where.directory}")
            _extract(tar_at.Members().tree(node, where.name), view.rootfd, where.directory,
                     owner=owner, keep_owner=archive, devices=None)
    finally:
        if node is not None:
            node.close()


# ---- sources ---------------------------------------------------------------
def _open_container_src(rootfd: int, sp: cp_paths.CpPath, follow: bool, label: str):
    """The source as a walk_at Node. A final symlink is the link itself, unless -L or a
    trailing "/" asks for what it points to (inside the container)."""
    from sampan.store.walk_at import node_of

    try:
        fd = inroot.open_in_root(rootfd, sp.path, os.O_PATH, follow=follow or sp.asserts_dir)
    except OSError as e:
        if e.errno in _NOT_THERE:
            raise NotFound(f"No such container:path: {label}", exit_code=1) from None
        raise
    node = node_of(fd, "")
    if sp.asserts_dir and not node.is_dir():
        node.close()
        raise NotFound(f"No such container:path: {label} (not a directory)", exit_code=1)
    return node


def _open_local_src(sp: cp_paths.CpPath, follow: bool, label: str):
    """A local source: the host's own path, so its symlinks are the host's truth; the
    tree below it is still walked through fds."""
    from sampan.store.walk_at import node_of

    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow or sp.asserts_dir else os.O_NOFOLLOW)
    try:
        fd = os.open(sp.path, flags)
    except OSError as e:
        raise NotFound(f"cannot copy {label!r}: {e.strerror}", exit_code=1) from None
    node = node_of(fd, "")
    if sp.asserts_dir and not node.is_dir():
        node.close()
        raise InvalidArgument(f"cannot copy {label!r}: not a directory", exit_code=1)
    return node


# ---- destinations ----------------------------------------------------------
def _with_path(p: cp_paths.CpPath, path: str) -> cp_paths.CpPath:
    return cp_paths.CpPath(path, p.contents, p.asserts_dir)


def _local_dst_info(dp: cp_paths.CpPath, label: str) -> tuple[str, bool, bool]:
    """(path, exists, is a directory) of a local destination, a final symlink followed
    (moby's CopyInfoDestinationPath): its parent must exist."""
    path = dp.path
    for _ in range(_MAX_LINKS):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            parent = posixpath.dirname(path)
            if not os.path.isdir(parent):
                raise NotFound(f"destination directory {parent!r} does not exist", exit_code=1) from None
            return path, False, False
        except NotADirectoryError:
            raise InvalidArgument(f"destination {label!r}: not a directory", exit_code=1) from None
        if not stat.S_ISLNK(st.st_mode):
            return path, True, stat.S_ISDIR(st.st_mode)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), os.readlink(path)))
    raise InvalidArgument(f"too many symbolic links in {label!r}", exit_code=1)


def _container_dst_info(rootfd: int, path: str, label: str) -> tuple[str, bool, bool]:
    """The same inside the container: every lookup resolved in its root."""
    for _ in range(_MAX_LINKS):
        try:
            fd = inroot.open_in_root(rootfd, path, os.O_PATH, follow=False)
        except FileNotFoundError:
            return path, False, False
        except OSError as e:
            if e.errno in _NOT_THERE:
                raise NotFound(f"No such container:path: {label}", exit_code=1) from None
            raise
        try:
            st = os.fstat(fd)
            if not stat.S_ISLNK(st.st_mode):
                return path, True, stat.S_ISDIR(st.st_mode)
            target = os.readlink("", dir_fd=fd)
        finally:
            os.close(fd)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    raise InvalidArgument(f"too many symbolic links in {label!r}", exit_code=1)


def _check_writable(view, path: str, label: str) -> None:
    """The directory must exist, and not be read-only (Docker's messages). The kernel
    enforces it anyway: the view mounts read-only what the container has read-only."""
    try:
        fd = inroot.open_in_root(view.rootfd, path, os.O_PATH | os.O_DIRECTORY)
    except OSError as e:
        if e.errno in _NOT_THERE:
            raise NotFound(f"No such container:path: {label}", exit_code=1) from None
        raise
    try:
        if os.fstatvfs(fd).f_flag & os.ST_RDONLY:
            if _mount_id(fd) == _mount_id(view.rootfd):
                raise InvalidState("container rootfs is marked read-only", exit_code=1)
            raise InvalidState("mounted volume is marked read-only", exit_code=1)
    finally:
        os.close(fd)


def _mount_id(fd: int) -> str:
    with open(f"/proc/self/fdinfo/{fd}") as f:
        for line in f:
            if line.startswith("mnt_id:"):
                return line.split()[1]
    return ""


# ---- extraction ------------------------------------------------------------
class _Current:
    """What Extractor.apply asks a tar for: the content of the member in hand."""

    reader = None

    def extractfile(self, ti):
        return self.reader


def _extract(members, rootfd: int, dest: str, owner, keep_owner: bool, devices) -> None:
    from sampan.store.extract_at import ExtractOptions, Extractor, FdTree

    opts = ExtractOptions(owner=owner, keep_owner=keep_owner, devices=devices,
                          no_overwrite_dir_nondir=True)
    cur = _Current()
    try:
        with Extractor(FdTree(rootfd), dest, opts) as ex:
            for ti, reader in members:
                cur.reader = reader
                try:
                    ex.apply(ti, cur)  # type: ignore[arg-type]  # as much of a TarFile as apply reads
                finally:
                    if reader is not None:
                        reader.close()
            ex.finish()
    except OSError as e:
        raise _copy_error(e) from None


def _extract_stream(src: BinaryIO, rootfd: int, dest: str, owner, archive: bool) -> None:
    import tarfile

    from sampan.errors import UnsafeArchive
    from sampan.store.extract_at import ExtractOptions, FdTree, extract_at

    opts = ExtractOptions(owner=owner, keep_owner=archive, no_overwrite_dir_nondir=True)
    try:
        tar = tarfile.open(fileobj=src, mode="r|*")
    except (tarfile.TarError, EOFError) as e:
        raise UnsafeArchive(f"invalid tar archive on stdin: {e}", exit_code=1) from None
    try:
        with tar:
            extract_at(tar, FdTree(rootfd), dest, opts)
    except OSError as e:
        raise _copy_error(e) from None


def _unprivileged(members):
    """What leaves a container without -a: no set-id bits (and, read with xattrs=None,
    no xattrs, so no file capabilities)."""
    for ti, reader in members:
        ti.mode &= ~(stat.S_ISUID | stat.S_ISGID)
        yield ti, reader


def _copy_error(e: OSError) -> SampanError:
    if e.errno == errno.EROFS:
        return InvalidState("cannot copy: read-only file system", exit_code=1)
    if e.errno == errno.ENOSPC:
        return SampanError(f"cannot copy: no space left on device ({e.filename or ''})", exit_code=1)
    return SampanError(f"cannot copy: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""),
                       exit_code=1)
