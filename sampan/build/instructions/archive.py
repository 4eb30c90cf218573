"""ADD's extras: unpack local tar archives, fetch http(s) URLs."""

from __future__ import annotations

import hashlib
import os
import posixpath
import tarfile
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sampan.build.instructions.copy import TreeWriter

# Members are checked one by one before extraction (below): extract them as they are.
# Python 3.11.4+ asks for that explicitly (tar extraction filters); Debian 12's 3.11.2
# has no filter argument at all.
_TRUSTED = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}

_MAGIC = [(b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz")]
_MAX_URL_BYTES = 8 << 30


def sniff_archive(path: Path) -> str | None:
    """'tar', 'gz', 'bz2' or 'xz' when the file is a (compressed) tar archive, else None."""
    with open(path, "rb") as f:
        head = f.read(512)
    kind = "tar"
    for magic, name in _MAGIC:
        if head.startswith(magic):
            kind = name
            break
    else:
        if len(head) < 262 or head[257:262] != b"ustar":
            return None
    try:
        with tarfile.open(path, "r:" + ("" if kind == "tar" else kind)) as tf:
            tf.next()
    except (tarfile.TarError, OSError, EOFError):
        return None
    return kind


def _safe_name(name: str) -> str | None:
    """The member's clean relative path, or None when it would land outside the root.
    Absolute names count from the root, as ADD reads rootfs tarballs."""
    from sampan.errors import UnsafeArchive
    from sampan.store.tarpath import clean_member_path
    try:
        return clean_member_path(name.lstrip("/"))
    except UnsafeArchive:
        return None


def _through_symlink(root: Path, rel: str) -> bool:
    """Would writing rel under root go through a symlink (made by an earlier member)?"""
    cur = root
    for part in rel.split("/")[:-1]:
        cur = cur / part
        if cur.is_symlink():
            return True
    return False


def extract_archive(path: Path, writer: "TreeWriter", dest: str) -> None:
    """Unpack like Docker's ADD: owners, modes (setuid too) and links kept, absolute
    symlinks allowed (rootfs tarballs have them); refused: names escaping the
    destination, writes through a symlink, hardlinks to outside the archive."""
    from sampan.build.instructions.copy import CopyError

    target = writer.host(dest)
    chown = writer.spec.chown
    is_root = os.geteuid() == 0
    try:
        with tarfile.open(path, "r:*") as tf:
            for member in tf:
                rel = _safe_name(member.name)
                if rel is None:
                    raise CopyError(f"unsafe entry in archive {path.name}: {member.name!r} "
                                    "points outside the destination")
                if not rel:
                    continue  # the archive's "./" entry: the destination already exists
                if _through_symlink(target, rel):
                    raise CopyError(f"unsafe entry in archive {path.name}: {member.name!r} "
                                    "would be written through a symbolic link")
                if member.islnk():
                    link = _safe_name(member.linkname)
                    if link is None or _through_symlink(target, link + "/x"):
                        raise CopyError(f"unsafe entry in archive {path.name}: hard link "
                                        f"{member.name!r} -> {member.linkname!r} leaves the archive")
                    member.linkname = link
                if member.isdev() and not is_root:
                    continue
                member.name = rel
                if chown is not None:
                    member.uid, member.gid = chown
                tf.extract(member, target, set_attrs=True, numeric_owner=True, **_TRUSTED)
    except tarfile.TarError as err:
        raise CopyError(f"cannot extract {path.name}: {err}") from None


def fetch_url(url: str, checksum: str | None) -> tuple[str, bytes, float | None]:
    """(file name, bytes, mtime) of a URL; Docker's naming: the last path component."""
    import urllib.error
    import urllib.request

    from sampan.build.instructions.copy import CopyError

    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data = resp.read(_MAX_URL_BYTES + 1)
            modified = resp.headers.get("Last-Modified")
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise CopyError(f"cannot fetch {url}: {getattr(err, 'reason', err)}") from None
    if len(data) > _MAX_URL_BYTES:
        raise CopyError(f"{url} is larger than {_MAX_URL_BYTES} bytes")
    if checksum:
        algo, _, want = checksum.partition(":")
        if algo != "sha256" or not want:
            raise CopyError(f"unsupported checksum {checksum!r}: use sha256:<hex>")
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise CopyError(f"checksum of {url} is sha256:{got}, expected {checksum}")
    mtime = None
    if modified:
        try:
            mtime = parsedate_to_datetime(modified).timestamp()
        except (TypeError, ValueError):
            mtime = None
    name = posixpath.basename(url.split("?", 1)[0].split("#", 1)[0].rstrip("/")) or "index.html"
    return name, data, mtime
