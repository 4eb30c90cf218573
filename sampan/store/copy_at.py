"""Copy a directory tree from one hostile tree into another, through fds at both ends.

The source is walked by store/walk_at (each entry opened by name relative to
its parent's fd with O_PATH|O_NOFOLLOW, what it is from fstat of that fd); what
it holds comes from the same inode (a file reopened through /proc/self/fd, a
link read with readlinkat), so a link in the source is copied as a link and
never followed. Each entry becomes an extract_at Member, so the destination side has
extract_at's rules: parents resolved inside the destination's root, whatever
is in the way unlinked, files made O_EXCL|O_NOFOLLOW.

Volume copy-up uses it: the image decides what is in the tree, and a volume's
directory is on the host.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile

from sampan.store.extract_at import XATTR_PAX_PREFIX, ExtractOptions, Extractor, Member, Tree

def member_of(rel: str, fd: int, st: os.stat_result) -> Member | None:
    """A header for the entry pinned by the O_PATH fd `fd`; None for a socket."""
    m = Member(rel)
    m.mode = stat.S_IMODE(st.st_mode)
    m.uid, m.gid = st.st_uid, st.st_gid
    m.mtime, m.mtime_ns = st.st_mtime, st.st_mtime_ns
    fmt = stat.S_IFMT(st.st_mode)
    if fmt == stat.S_IFREG:
        m.type, m.size = tarfile.REGTYPE, st.st_size
        m.opener = lambda: open(f"/proc/self/fd/{fd}", "rb")  # this inode, not a name
    elif fmt == stat.S_IFDIR:
        m.type = tarfile.DIRTYPE
    elif fmt == stat.S_IFLNK:
        m.type, m.linkname = tarfile.SYMTYPE, os.readlink("", dir_fd=fd)
    elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
        m.type = tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE
        m.devmajor, m.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif fmt == stat.S_IFIFO:
        m.type = tarfile.FIFOTYPE
    else:
        return None  # sockets are not copied
    if fmt != stat.S_IFLNK:
        m.pax_headers = {XATTR_PAX_PREFIX + k: v.decode("utf-8", "surrogateescape")
                         for k, v in _xattrs(fd).items()}
    return m


def _xattrs(fd: int) -> dict[str, bytes]:
    path = f"/proc/self/fd/{fd}"
    try:
        return {n: os.getxattr(path, n) for n in os.listxattr(path)}
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM, errno.ENODATA, errno.ENOENT):
            return {}
        raise


def copy_tree_at(src_fd: int, dest: int | Tree, dest_path: str = "/",
                 options: ExtractOptions | None = None) -> int:
    """Copy what is below the directory `src_fd` into `dest_path` of `dest` (a
    directory fd, or a Tree). Entries that vanish mid-walk are skipped (store/walk_at
    walks the source). Returns the number of entries copied; ExtractRefused for one
    the destination refused."""
    from sampan.store.extract_at import FdTree
    from sampan.store.walk_at import walk_fd

    tree = FdTree(dest) if isinstance(dest, int) else dest
    count = 0
    with Extractor(tree, dest_path, options) as ex:
        for node in walk_fd(src_fd):
            m = member_of(node.rel, node.fd, node.st)
            if m is None:
                continue
            ex.apply(m)  # reads a file's bytes now, while the walk still pins its inode
            count += 1
        ex.finish()
    return count
