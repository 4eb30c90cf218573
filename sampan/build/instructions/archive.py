"""ADD's extras: unpack local tar archives, fetch http(s) URLs."""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from sampan.build.context import SourceFS
    from sampan.build.instructions.copy import TreeWriter

_MAGIC = [(b"\x1f\x8b", "gz"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz")]
_MAX_URL_BYTES = 8 << 30


def sniff_archive(f: BinaryIO) -> str | None:
    """'tar', 'gz', 'bz2' or 'xz' when the file is a (compressed) tar archive, else None."""
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
        f.seek(0)
        with tarfile.open(fileobj=f, mode="r:" + ("" if kind == "tar" else kind)) as tf:  # type: ignore[call-overload]  # r:, r:gz, r:bz2, r:xz
            tf.next()
    except (tarfile.TarError, OSError, EOFError):
        return None
    return kind


def extract_archive(fs: "SourceFS", src: str, name: str, writer: "TreeWriter", dest: str) -> None:
    """Unpack like Docker's ADD (sampan.store.extract_at): owners, modes (setuid too)
    and links kept, absolute symlinks allowed (rootfs tarballs have them) and followed
    only inside the image's root; refused: names climbing out of the destination,
    hardlinks to what is not below it."""
    from sampan.build.instructions.copy import CopyError
    from sampan.errors import UnsafeArchive
    from sampan.store.extract_at import Extractor

    with fs.open_file(src) as f:
        try:
            with tarfile.open(fileobj=f, mode="r|*") as tf, \
                    Extractor(writer.tree, dest, writer.options(archive=True)) as ex:
                for member in tf:
                    ex.apply(member, tf)
                ex.finish()
        except UnsafeArchive as err:
            raise CopyError(f"unsafe entry in archive {name}: {err.message}") from None
        except (tarfile.TarError, EOFError) as err:
            raise CopyError(f"cannot extract {name}: {err}") from None


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
