"""Write an uncompressed EROFS image: one file that the kernel mounts read-only as a layer.

A layer unpacked into a directory costs one file creation per entry, and on ext4 that
is most of a pull (see DESIGN.md, "Layers as EROFS images"). An EROFS image is written
front to back into one file instead: file contents first, each from a block boundary, as
the tar delivers them; then, once the tree is known, the directories' blocks, the inodes
and the superblock. Linux mounts such a file directly (EROFS backed by a file, 6.12+).

Only what a layer needs is written: 4 KiB blocks, 64-byte inodes, contents in whole
blocks (FLAT_PLAIN), symlink targets inline after their inode (FLAT_INLINE), xattrs
inline. The on-disk format is the kernel's (include/erofs_fs.h in erofs-utils or Linux);
this module knows nothing of tar: store/erofs_layer.py builds the tree from one.
"""

from __future__ import annotations

import os
import stat
import struct
import time

BLOCK = 4096
BLOCK_BITS = 12
SUPER_OFFSET = 1024
MAGIC = 0xE0F5E1E2
INODE_SIZE = 64              # the extended inode: 32-bit ids, 64-bit size, its own mtime
SLOT = 32                    # inodes are addressed in 32-byte slots from the meta block
NAME_LEN = 255
DIRENT = struct.Struct("<QHBB")                 # nid, nameoff, file_type, reserved
INODE = struct.Struct("<HHHHQIIIIQII16x")       # erofs_inode_extended
XATTR_HEAD = struct.Struct("<IB7x")             # erofs_xattr_ibody_header (no shared)
XATTR_ENTRY = struct.Struct("<BBH")             # name_len, name_index, value_size
SUPER = struct.Struct("<IIIBBHQQIIII16s16sI")   # the fields of the superblock we set

FLAT_PLAIN, FLAT_INLINE = 0, 2
_FT = {stat.S_IFREG: 1, stat.S_IFDIR: 2, stat.S_IFCHR: 3, stat.S_IFBLK: 4,
       stat.S_IFIFO: 5, stat.S_IFSOCK: 6, stat.S_IFLNK: 7}
# xattr name prefixes EROFS has an index for; the whole name for the two ACLs
_XATTR_PREFIXES = (("user.", 1), ("trusted.", 4), ("security.", 6))
_XATTR_WHOLE = {"system.posix_acl_access": 2, "system.posix_acl_default": 3}


class ImageTooLarge(Exception):
    """More than 32-bit block addresses reach (16 TiB), or an inode that cannot be laid out."""


class Inode:
    """One inode. ``children`` for a directory (name bytes -> Inode), ``target`` for a
    symlink, ``blkaddr``/``size`` for a regular file's contents already in the image,
    ``rdev`` for a device. The same Inode under two names is a hard link."""

    __slots__ = ("mode", "uid", "gid", "mtime_ns", "size", "blkaddr", "rdev", "target",
                 "xattrs", "children", "nid", "nlink", "ino")

    def __init__(self, mode: int, uid: int = 0, gid: int = 0, mtime_ns: int = 0):
        self.mode, self.uid, self.gid, self.mtime_ns = mode, uid, gid, mtime_ns
        self.size = 0
        self.blkaddr = 0
        self.rdev = 0
        self.target = b""
        self.xattrs: dict[str, bytes] | None = None
        self.children: dict[bytes, Inode] | None = {} if stat.S_ISDIR(mode) else None
        self.nid = -1
        self.nlink = 0
        self.ino = 0

    @property
    def is_dir(self) -> bool:
        return self.children is not None


def xattr_key(name: str) -> tuple[int, bytes] | None:
    """(EROFS name index, the name's rest) or None for a name EROFS cannot hold (as a
    filesystem without that namespace refuses it)."""
    whole = _XATTR_WHOLE.get(name)
    if whole is not None:
        return whole, b""
    for prefix, index in _XATTR_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return index, os.fsencode(name[len(prefix):])
    return None


def xattr_body(xattrs: dict[str, bytes] | None) -> bytes:
    """The inline xattr area: header, then each entry padded to 4 bytes."""
    if not xattrs:
        return b""
    parts = [XATTR_HEAD.pack(0, 0)]
    for name in sorted(xattrs):
        key = xattr_key(name)
        if key is None:
            continue
        index, rest = key
        value = xattrs[name]
        if len(rest) > NAME_LEN or len(value) > 0xFFFF:
            raise ValueError(f"xattr {name[:60]!r} is too long")
        entry = XATTR_ENTRY.pack(len(rest), index, len(value)) + rest + value
        parts.append(entry + b"\0" * (-len(entry) % 4))
    if len(parts) == 1:
        return b""
    return b"".join(parts)


def _dir_blocks(entries: list[tuple[bytes, Inode]]) -> list[list[tuple[bytes, Inode]]]:
    """Sorted entries cut into blocks: each block holds its dirents, then their names."""
    blocks: list[list[tuple[bytes, Inode]]] = []
    cur: list[tuple[bytes, Inode]] = []
    used = 0
    for name, node in entries:
        need = DIRENT.size + len(name)
        if cur and used + need > BLOCK:
            blocks.append(cur)
            cur, used = [], 0
        cur.append((name, node))
        used += need
    if cur:
        blocks.append(cur)
    return blocks


class ImageWriter:
    """Contents go in as they come (``add_data``); ``finish(root)`` writes the rest.

    The caller owns ``fd`` (a new, empty file opened for writing). Block 0 holds the
    superblock; contents start at block 1."""

    def __init__(self, fd: int):
        self.fd = fd
        self.block = 1          # the next free block
        os.lseek(fd, BLOCK, os.SEEK_SET)

    def _check(self, block: int) -> None:
        if block >= 1 << 32:
            raise ImageTooLarge("the layer is larger than an EROFS image can address")

    def add_data(self, src, size: int, chunk: int = 1 << 20) -> int:
        """Copy exactly ``size`` bytes from ``src.read`` into the next blocks; returns the
        first block (0 for an empty file: nothing is read from it)."""
        if size == 0:
            return 0
        start = self.block
        left = size
        while left:
            data = src.read(min(chunk, left))
            if not data:
                raise EOFError("the archive ended inside a file")
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view):]
            left -= len(data)
        pad = -size % BLOCK
        if pad:
            os.write(self.fd, b"\0" * pad)
        self.block += (size + pad) // BLOCK
        self._check(self.block)
        return start

    def finish(self, root: Inode, build_time_ns: int | None = None) -> int:
        """Lay out and write directories, inodes and the superblock. Returns the image size."""
        nodes, parent_of = _number(root)
        dirs = [n for n in nodes if n.is_dir]
        # directory blocks (their size depends on names only; nids are filled in later)
        dir_layout: list[tuple[Inode, list[list[tuple[bytes, Inode]]]]] = []
        for d in dirs:
            assert d.children is not None
            entries = sorted([(b".", d), (b"..", d), *d.children.items()], key=_name)
            blocks = _dir_blocks(entries)
            d.blkaddr = self.block
            d.size = len(blocks) * BLOCK
            self.block += len(blocks)
            dir_layout.append((d, blocks))
        self._check(self.block)
        # inodes (directories have their blocks now; no inode holds a nid): extended
        # inode, inline xattrs, a short symlink's target inline; none crosses a block
        # (the kernel refuses inline data that does)
        meta_block = self.block
        records: list[tuple[int, bytes]] = []
        pos = SLOT   # nid 0 would be inode number 0, which readdir callers skip
        for n in nodes:
            body = _inode_bytes(n)
            pos += -pos % SLOT
            if pos // BLOCK != (pos + len(body) - 1) // BLOCK:
                pos += -pos % BLOCK
            n.nid = pos // SLOT
            records.append((pos, body))
            pos += len(body)
        if root.nid != 1:
            raise ImageTooLarge("the root inode must come first")
        meta_blocks = (pos + BLOCK - 1) // BLOCK
        self._check(meta_block + meta_blocks)
        for d, blocks in dir_layout:
            out = bytearray()
            for blk in blocks:
                names = b"".join(name for name, _ in blk)
                nameoff = DIRENT.size * len(blk)
                head = bytearray()
                for name, node in blk:
                    target = parent_of[id(d)] if name == b".." else node
                    head += DIRENT.pack(target.nid, nameoff, _FT[stat.S_IFMT(target.mode)], 0)
                    nameoff += len(name)
                block = bytes(head) + names
                out += block + b"\0" * (BLOCK - len(block))
            os.pwrite(self.fd, out, d.blkaddr * BLOCK)
        meta = bytearray(meta_blocks * BLOCK)
        for off, body in records:
            meta[off:off + len(body)] = body
        os.pwrite(self.fd, meta, meta_block * BLOCK)
        total = meta_block + meta_blocks
        now = time.time_ns() if build_time_ns is None else build_time_ns
        sb = SUPER.pack(MAGIC, 0, 0, BLOCK_BITS, 0, root.nid, len(nodes),
                        now // 1_000_000_000, now % 1_000_000_000, total, meta_block, 0,
                        b"\0" * 16, b"\0" * 16, 0)
        os.pwrite(self.fd, sb + b"\0" * (128 - len(sb)), SUPER_OFFSET)
        os.ftruncate(self.fd, total * BLOCK)
        return total * BLOCK


def _name(entry: tuple[bytes, Inode]) -> bytes:
    return entry[0]   # the kernel's lookup is a binary search in byte order


def _number(root: Inode) -> tuple[list[Inode], dict[int, Inode]]:
    """Every inode once, root first (the superblock has 16 bits for its nid), breadth first
    and iteratively (depth is the archive's to choose), with its link count and inode
    number; and each directory's parent (its '..'), by id."""
    nodes = [root]
    root.nlink = 2
    seen = {id(root)}
    parent_of: dict[int, Inode] = {id(root): root}
    i = 0
    while i < len(nodes):
        d = nodes[i]
        i += 1
        if not d.is_dir:
            continue
        assert d.children is not None
        for child in d.children.values():
            if child.is_dir:
                d.nlink += 1            # its '..'
                child.nlink += 2        # its name and its '.'
                parent_of[id(child)] = d
            else:
                child.nlink += 1
            if id(child) not in seen:
                seen.add(id(child))
                nodes.append(child)
    for ino, n in enumerate(nodes, 1):
        n.ino = ino
    return nodes, parent_of


def _inode_bytes(n: Inode) -> bytes:
    xattrs = xattr_body(n.xattrs)
    icount = 0 if not xattrs else (len(xattrs) - XATTR_HEAD.size) // 4 + 1
    ifmt = stat.S_IFMT(n.mode)
    inline = b""
    layout = FLAT_PLAIN
    size, u = n.size, n.blkaddr
    if ifmt == stat.S_IFLNK and not n.blkaddr:   # a long target is in a block of its own
        layout, inline, size, u = FLAT_INLINE, n.target, len(n.target), 0
    elif ifmt in (stat.S_IFCHR, stat.S_IFBLK):
        size, u = 0, _encode_dev(n.rdev)
    elif ifmt in (stat.S_IFIFO, stat.S_IFSOCK):
        size, u = 0, 0
    secs, nsec = divmod(n.mtime_ns, 1_000_000_000)
    head = INODE.pack(1 | layout << 1, icount, n.mode & 0xFFFF, 0, size, u, n.ino & 0xFFFFFFFF,
                      n.uid, n.gid, secs & 0xFFFFFFFFFFFFFFFF, nsec, n.nlink)
    body = head + xattrs + inline
    if len(body) > BLOCK:
        raise ImageTooLarge("an inode with its xattrs and inline data is larger than a block")
    return body


def _encode_dev(rdev: int) -> int:
    """The kernel's new_encode_dev: minor's low byte, major, minor's high bits."""
    major, minor = os.major(rdev), os.minor(rdev)
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
