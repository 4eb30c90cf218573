"""A layer tar, treated as hostile, made into an EROFS image (store/erofs_image.py).

The entries are applied to a tree in memory by the rules of the directory extractor
(store/unpack.py's SafeExtractor), so that an image and an unpacked dir of the same
layer hold the same files: the same refusals (nothing is written through a symlink, a
hard link only to a file of this layer, whiteouts never hide this layer's own files),
the same replacements, implied parent directories, overlay whiteouts (``.wh.NAME`` ->
char device 0/0, ``.wh..wh..opq`` -> ``trusted.overlay.opaque=y``) and directory
metadata applied last. Per-entry checks are tarentry's, the extractor's own. No path of
the host is ever built from a name: the tree is only dict keys until the image is
written. tests/integration/store/test_erofs_layers.py compares both forms.
"""

from __future__ import annotations

import os
import stat
import tarfile

from sampan.errors import UnsafeArchive
from sampan.store import tarentry as te
from sampan.store.erofs_image import (BLOCK, INODE_SIZE, ImageTooLarge, ImageWriter, Inode,
                                      xattr_body, xattr_key)
from sampan.store.tarpath import (AUFS_META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX, clean_member_path,
                                  member_path, split_parent)

from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from pathlib import Path
    from sampan.store.compression import Readable

OPAQUE_XATTR = "trusted.overlay.opaque"
# the tree is held in memory until the image is written: names, symlink targets and
# ~200 bytes of bookkeeping per entry; a layer that needs more is refused
TREE_BYTES_MAX = 1 << 30
NODE_COST = 200
INLINE_TARGET_MAX = 1024     # longer symlink targets get a block of their own


def _umask() -> int:
    """The process's umask, which the directory extractor's mkdir and mknod obey."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


class ImageTree:
    """Apply tar members (as SafeExtractor.apply does) to an EROFS image being written."""

    def __init__(self, writer: ImageWriter, probe: str | None = None, now_ns: int | None = None):
        import time
        self.writer = writer
        self.now = time.time_ns() if now_ns is None else now_ns
        self.umask = _umask()
        self.root = Inode(stat.S_IFDIR | (0o777 & ~self.umask), 0, 0, self.now)
        self._written: dict[str, bool] = {}   # path -> is_dir, for entries of this tar
        self._dirs: list[tuple[str, tarfile.TarInfo]] = []
        self._xattr_probe = te.XattrProbe(probe, True)
        self._cost = 0

    # --- the tree -------------------------------------------------------------
    def _account(self, name: str, extra: int = 0) -> None:
        self._cost += NODE_COST + len(name) + extra
        if self._cost > TREE_BYTES_MAX:
            raise UnsafeArchive("refusing layer: too many entries to index as one image "
                                "(set SAMPAN_LAYER_FORMAT=dir to unpack it into a directory)")

    def _lookup_dir(self, path: str, create: bool, entry: str) -> Inode:
        node = self.root
        if not path:
            return node
        for part in path.split("/"):
            key = os.fsencode(part)
            assert node.children is not None
            child = node.children.get(key)
            if child is None:
                if not create:
                    raise te.refuse(entry, f"{path!r} does not exist in this layer")
                te.check_component(part, entry)
                child = Inode(stat.S_IFDIR | (0o755 & ~self.umask), 0, 0, self.now)
                self._account(part)
                node.children[key] = child
            elif not child.is_dir:
                why = ("is a symlink; writing through it could escape the root"
                       if stat.S_ISLNK(child.mode) else "is not a directory")
                raise te.refuse(entry, f"{path!r} {why}")
            node = child
        return node

    def _forget(self, path: str, was_dir: bool) -> None:
        self._written.pop(path, None)
        if was_dir:
            prefix = path + "/"
            for k in [k for k in self._written if k.startswith(prefix)]:
                del self._written[k]

    def _remove(self, parent: Inode, path: str, key: bytes) -> None:
        assert parent.children is not None
        old = parent.children.pop(key, None)
        if old is not None:
            self._forget(path, old.is_dir)

    def _put(self, parent: Inode, key: bytes, node: Inode, name: str, extra: int = 0) -> None:
        assert parent.children is not None
        self._account(name, extra)
        parent.children[key] = node

    # --- metadata ---------------------------------------------------------------
    def _meta(self, node: Inode, ti: tarfile.TarInfo, is_dir: bool) -> None:
        node.uid, node.gid = te.owner(ti)
        node.mode = stat.S_IFMT(node.mode) | (ti.mode & 0o7777)
        node.mtime_ns = te.mtime_ns(ti)
        xattrs = self._xattrs(ti, is_dir)
        if xattrs:
            node.xattrs = {**(node.xattrs or {}), **xattrs}
            try:
                size = INODE_SIZE + len(xattr_body(node.xattrs))
            except ValueError as e:
                raise te.refuse(ti.name, str(e)) from None
            if size > BLOCK:   # ext4 keeps an inode's xattrs in one block too (ENOSPC)
                raise te.refuse(ti.name, f"its xattrs take {size} bytes, more than a block")

    def _xattrs(self, ti: tarfile.TarInfo, is_dir: bool) -> dict[str, bytes]:
        """The entry's xattrs that EROFS can hold, once the kernel took them on a probe
        file (as on the extractor's files)."""
        return {k: v for k, v in self._xattr_probe.check(ti, is_dir).items() if xattr_key(k) is not None}

    # --- entries ----------------------------------------------------------------
    def apply(self, ti: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        name = ti.name
        path = member_path(ti)
        if not path:
            self._dirs.append(("", ti))
            return
        parent_path, base = split_parent(path)
        parent = self._lookup_dir(parent_path, True, name)
        assert parent.children is not None
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(parent, parent_path, base, name)
            return
        te.check_component(base, name)
        key = os.fsencode(base)
        kind = te.kind_of(ti)
        if kind == "dir":
            old = parent.children.get(key)
            if old is None or not old.is_dir:
                self._remove(parent, path, key)
                self._put(parent, key, Inode(stat.S_IFDIR | (0o700 & ~self.umask), 0, 0, self.now), base)
            self._dirs.append((path, ti))
            self._written[path] = True
            return
        if kind == "hardlink":
            self._hardlink(parent, path, key, ti)
            return
        if kind == "file":
            node = Inode(stat.S_IFREG)
            self._meta(node, ti, False)
            src = tar.extractfile(ti)
            node.size = ti.size
            node.blkaddr = self.writer.add_data(src, ti.size) if src is not None else 0
        elif kind == "symlink":
            te.check_symlink(ti)
            node = Inode(stat.S_IFLNK | 0o777, *te.owner(ti), te.mtime_ns(ti))
            node.target = os.fsencode(ti.linkname)
            if len(node.target) > INLINE_TARGET_MAX:
                import io
                node.size = len(node.target)
                node.blkaddr = self.writer.add_data(io.BytesIO(node.target), node.size)
        else:
            node = self._special(ti)
        self._remove(parent, path, key)
        self._put(parent, key, node, base, len(node.target) if not node.blkaddr else 0)
        self._written[path] = False

    def _special(self, ti: tarfile.TarInfo) -> Inode:
        if ti.isfifo():
            node = Inode(stat.S_IFIFO)
        else:
            node = Inode(stat.S_IFCHR if ti.ischr() else stat.S_IFBLK)
            node.rdev = te.device(ti)
        node.uid, node.gid = te.owner(ti)
        node.mode |= ti.mode & 0o7777
        node.mtime_ns = te.mtime_ns(ti)
        return node

    def _hardlink(self, parent: Inode, path: str, key: bytes, ti: tarfile.TarInfo) -> None:
        target = clean_member_path(ti.linkname)
        if target == path:
            return
        if self._written.get(target) is not False:
            raise te.refuse(ti.name, f"hardlink to {ti.linkname[:200]!r}, which is not a file "
                                     "extracted earlier from this layer")
        if target.startswith(path + "/"):
            raise te.refuse(ti.name, f"hardlink to {ti.linkname[:200]!r} would replace the "
                                     "directory that holds its own target")
        tparent_path, tbase = split_parent(target)
        tparent = self._lookup_dir(tparent_path, False, ti.name)
        assert tparent.children is not None
        node = tparent.children.get(os.fsencode(tbase))
        if node is None or node.is_dir:
            raise te.refuse(ti.name, f"hardlink to {ti.linkname[:200]!r}, which is not a file")
        self._remove(parent, path, key)
        self._put(parent, key, node, split_parent(path)[1])
        self._written[path] = False

    def _whiteout(self, parent: Inode, parent_path: str, base: str, name: str) -> None:
        if base == OPAQUE_MARKER:
            parent.xattrs = {**(parent.xattrs or {}), OPAQUE_XATTR: b"y"}
            return
        if base.startswith(AUFS_META_PREFIX):
            return
        target = base[len(WHITEOUT_PREFIX):]
        if target in ("", ".", ".."):
            raise te.refuse(name, "whiteout of nothing")
        tpath = f"{parent_path}/{target}" if parent_path else target
        if tpath in self._written:
            return  # a whiteout hides lower layers only, never its own layer's files (OCI spec)
        te.check_component(target, name)
        key = os.fsencode(target)
        self._remove(parent, tpath, key)
        self._put(parent, key, Inode(stat.S_IFCHR | (0o600 & ~self.umask), 0, 0, self.now), target)

    def finish(self) -> None:
        """Directory metadata last, in the extractor's order (a later entry for the same
        path wins); a directory replaced or whited out since keeps none of it."""
        for path, ti in sorted(self._dirs, key=lambda d: d[0], reverse=True):
            node = self._find(path)
            if node is not None and node.is_dir:
                self._meta(node, ti, True)

    def _find(self, path: str) -> Inode | None:
        node: Inode | None = self.root
        for part in path.split("/") if path else ():
            if node is None or node.children is None:
                return None
            node = node.children.get(os.fsencode(part))
        return node


def tar_to_image(stream: Readable, image: Path, probe: str | None = None) -> int:
    """Read a plain layer tar from stream and write its EROFS image to ``image`` (a new
    file). Returns the member count. Refusals are UnsafeArchive, as the extractor's."""
    count = 0
    fd = os.open(image, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        writer = ImageWriter(fd)
        tree = ImageTree(writer, probe)
        try:
            opened = tarfile.open(fileobj=stream, mode="r|")  # type: ignore[call-overload]
            with opened as tar:
                for ti in tar:
                    try:
                        tree.apply(ti, tar)
                    except (OverflowError, ValueError) as e:   # NULs in names and the like
                        raise UnsafeArchive(f"cannot extract tar entry {ti.name[:200]!r}: {e}") from None
                    count += 1
            tree.finish()
            writer.finish(tree.root)
        except tarfile.TarError as e:
            raise UnsafeArchive(f"invalid tar archive: {e}") from None
        except (EOFError, ImageTooLarge) as e:
            raise UnsafeArchive(f"cannot make the layer's image: {e}") from None
    finally:
        os.close(fd)
    return count
