"""Walk a tree someone else controls through directory fds (CVE-2018-15664).

A running container can swap a directory for a symlink, or a file for a device
node, between any two system calls. So no path string inside the tree is ever
opened here. Each entry is opened once, by its own name relative to its
parent's fd, with O_PATH|O_NOFOLLOW; what it is comes from fstat of that fd,
and what it holds from the very inode fstat described: a directory reopened
through ``"."``, a regular file through ``/proc/self/fd`` (never an open of a
name, which could meet a device or a FIFO swapped in), a symlink's target by
readlinkat on the fd, xattrs through the fd's /proc path. A name swapped
mid-walk is therefore either the real thing or the symlink itself, never what
the symlink points to; an entry that vanishes is skipped.

export, commit (the upper dir), diff and cp all walk with this module.
"""

from __future__ import annotations

import errno
import os
import stat

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterator

_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# an entry gone (or its directory gone) between the listing and the open
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ESTALE)


class Node:
    """One entry of the tree, pinned by an O_PATH fd (owned: close() it)."""

    __slots__ = ("fd", "rel", "st")

    def __init__(self, fd: int, rel: str):
        self.fd = fd
        self.rel = rel  # path below the walk's top, "a/b"; the top's own name for the top
        try:
            self.st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise

    @property
    def proc_path(self) -> str:
        """A path naming this inode, for calls that take only paths (xattrs)."""
        return f"/proc/self/fd/{self.fd}"

    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.st.st_mode)

    def is_reg(self) -> bool:
        return stat.S_ISREG(self.st.st_mode)

    def is_link(self) -> bool:
        return stat.S_ISLNK(self.st.st_mode)

    def open_file(self) -> int:
        """A read fd of this regular file: the same inode, reopened through /proc."""
        return os.open(self.proc_path, os.O_RDONLY | os.O_CLOEXEC)

    def open_dir(self) -> int:
        """A read fd of this directory (for listing, and as the dir_fd of its entries)."""
        return os.open(".", _DIR, dir_fd=self.fd)

    def readlink(self) -> str:
        return os.readlink("", dir_fd=self.fd)

    def xattrs(self) -> dict[str, bytes]:
        """Every xattr of the inode, sorted by name; {} where the filesystem has none."""
        try:
            names = os.listxattr(self.proc_path)
        except OSError as e:
            if e.errno in (errno.ENOTSUP, errno.EPERM, errno.ENOENT):
                return {}
            raise
        out = {}
        for name in sorted(names):
            try:
                out[name] = os.getxattr(self.proc_path, name)
            except OSError as e:
                if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EPERM, errno.ENOENT):
                    continue  # removed meanwhile, or not ours to read
                raise
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "Node":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_entry(dirfd: int, name: str, rel: str) -> Node | None:
    """The entry `name` of the directory `dirfd` as a Node, None if it is gone.
    A symlink is the link itself."""
    try:
        fd = os.open(name, _PATH, dir_fd=dirfd)
    except OSError as e:
        if e.errno in _GONE:
            return None
        raise
    return Node(fd, rel)


def node_of(fd: int, rel: str) -> Node:
    """A Node over an O_PATH fd the caller resolved (inroot.open_in_root); takes it."""
    return Node(fd, rel)


def _listing(dirfd: int) -> list[str]:
    try:
        return sorted(os.listdir(dirfd))
    except OSError as e:
        if e.errno in _GONE:
            return []  # removed while we looked
        raise


def walk(top: Node, prefix: str | None = None) -> Iterator[Node]:
    """Every entry below the directory `top` (not `top` itself), parents before their
    children, names sorted. Each Node's `rel` is `prefix/...` (prefix defaults to
    top.rel; "" gives bare names). A Node is closed when the walk moves on: use it
    (its fd, content, link) before asking for the next.

    One read fd is held per directory level, so a name swapped for a symlink after
    its directory was entered changes nothing: the walk goes on in the directory
    it opened."""
    prefix = top.rel if prefix is None else prefix
    try:
        first = top.open_dir()
    except OSError as e:
        if e.errno in _GONE:
            return
        raise
    stack = [(first, prefix, iter(_listing(first)))]
    try:
        while stack:
            dirfd, rel, names = stack[-1]
            name = next(names, None)
            if name is None:
                os.close(dirfd)
                stack.pop()
                continue
            node = open_entry(dirfd, name, f"{rel}/{name}" if rel else name)
            if node is None:
                continue
            try:
                yield node
                if node.is_dir():
                    try:
                        sub = node.open_dir()
                    except OSError as e:
                        if e.errno not in _GONE:
                            raise
                    else:
                        stack.append((sub, node.rel, iter(_listing(sub))))
            finally:
                node.close()
    finally:
        for dirfd, _, _ in stack:
            os.close(dirfd)


def walk_fd(dirfd: int, prefix: str = "") -> Iterator[Node]:
    """walk() below a directory given as an fd (O_PATH or read); the fd stays the caller's."""
    with Node(os.dup(dirfd), prefix) as top:
        yield from walk(top)
