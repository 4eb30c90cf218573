"""Read-only verification of the image store, for `sampan system check`.

Nothing here writes, locks or deletes: it reads blobs, the layout files, unpacked layer dirs and the catalog,
and returns findings. A *problem* is damage that breaks something (a blob
whose bytes do not match its digest, an image whose blob is gone); a *note* is
a harmless leftover of an interrupted operation (a half-unpacked layer that
is redone at next use, a temp file).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from sampan.store.layers import COMPLETE

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.store.images import ImageStore
    from sampan.store.types import ImageInfo

PROBLEM = "problem"
NOTE = "note"
_HEX = frozenset("0123456789abcdef")


class CheckFinding:
    """One thing `system check` found: kind (PROBLEM or NOTE), the object it is about
    (``blob sha256:...``, ``container web``, a path) and one human line that says what
    is wrong and what would fix it."""

    __slots__ = ("kind", "subject", "message")

    def __init__(self, kind: str, subject: str, message: str) -> None:
        self.kind, self.subject, self.message = kind, subject, message

    def __repr__(self) -> str:
        return f"CheckFinding({self.kind!r}, {self.subject!r}, {self.message!r})"

    def to_json(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


def problem(subject: str, message: str) -> CheckFinding:
    return CheckFinding(PROBLEM, subject, message)


def note(subject: str, message: str) -> CheckFinding:
    return CheckFinding(NOTE, subject, message)


def is_hex64(name: str) -> bool:
    return len(name) == 64 and _HEX.issuperset(name)


def os_reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def list_dir(path: Path, out: list[CheckFinding]) -> list[str]:
    """Sorted entries of path; [] if it does not exist; a problem if it cannot be read."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []
    except OSError as e:
        out.append(problem(str(path), f"cannot read directory {path} ({os_reason(e)}): fix its "
                                      "permissions or the disk, then check again"))
        return []


def image_name(info: ImageInfo) -> str:
    return info.repo_tags[0] if info.repo_tags else info.short_id


def _reimport(info: ImageInfo) -> str:
    # by id with -f: by one of several tags, rmi would only untag and keep the damage
    return (f"remove image {image_name(info)} (`sampan rmi -f {info.short_id}`, after `sampan "
            "rm` of the containers that use it) and pull, load or import it again")


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below path (from /proc/self/mountinfo): a leftover dir that still
    has mounts must be unmounted before anyone deletes it (a bind-mounted volume inside
    would go with it)."""
    prefix = str(path).rstrip("/") + "/"
    found = []
    try:
        with open("/proc/self/mountinfo", "rb") as f:
            for line in f:
                point = line.split(b" ")[4].decode(errors="replace")
                # mountinfo escapes space, tab, newline and backslash as octal
                point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point)
                if point == prefix[:-1] or point.startswith(prefix):
                    found.append(point)
    except (OSError, IndexError):
        pass
    return found


def hash_file(path: Path) -> str:
    """sha256 of a file, streamed (blobs may be hundreds of MB)."""
    import hashlib

    with open(path, "rb") as f:
        return "sha256:" + hashlib.file_digest(f, "sha256").hexdigest()


def verify_store(store: ImageStore) -> list[CheckFinding]:
    """Every finding about the store: blobs, images, layout files, unpacked layers, tmp."""
    out: list[CheckFinding] = []
    images = store.catalog.all(include_intermediate=True)
    bad = _verify_blobs(store, images, out)
    _verify_images(store, images, bad, out)
    _verify_layout(store, images, out)
    _verify_unpacked(store, images, out)
    return out


def _verify_blobs(store: ImageStore, images: list[ImageInfo], out: list[CheckFinding]) -> set[str]:
    """Hash every blob against its name. Returns the digests that are present but bad."""
    users: dict[str, list[ImageInfo]] = {}
    for info in images:
        for d in {info.manifest_digest, info.id, *(l.digest for l in info.layers)}:
            users.setdefault(d, []).append(info)
    bad: set[str] = set()
    for path in _digest_named(store.paths.blobs, "a blob (its name is no sha256 digest)", out):
        digest = "sha256:" + path.name
        who = users.get(digest, [])
        fix = (_reimport(who[0]) if who else
               "no image uses it: delete it (`rm " + str(path) + "`)")
        try:
            if not path.is_file():
                raise IsADirectoryError(21, "not a regular file")
            got = hash_file(path)
        except OSError as e:
            bad.add(digest)
            out.append(problem(f"blob {digest}", f"blob {digest} cannot be read "
                                                 f"({os_reason(e)}): {fix}"))
            continue
        if got != digest:
            bad.add(digest)
            size = _declared_size(digest, who)
            try:
                have = path.stat().st_size
            except OSError:
                have = -1
            what = (f"{have} bytes, the image says {size}" if size is not None and size != have
                    else f"{have} bytes")
            out.append(problem(f"blob {digest}", f"blob {digest} does not match its digest "
                                                 f"(truncated or corrupt: {what}): {fix}"))
    return bad


def _declared_size(digest: str, users: list[ImageInfo]) -> int | None:
    for info in users:
        for l in info.layers:
            if l.digest == digest:
                return l.size
    return None


def _verify_images(store: ImageStore, images: list[ImageInfo], bad: set[str],
                   out: list[CheckFinding]) -> None:
    """Each image's manifest, config and layer blobs exist, and its manifest agrees with
    the record (a corrupt blob is reported once, by _verify_blobs)."""
    from sampan.errors import SampanError
    from sampan.oci.image import parse_manifest

    for info in images:
        name = image_name(info)
        wanted = [("manifest", info.manifest_digest), ("config", info.id)]
        wanted += [(f"layer {i + 1}", l.digest) for i, l in enumerate(info.layers)]
        missing = [(what, d) for what, d in wanted if not store.blobs.path(d).exists()]
        for what, d in missing:
            out.append(problem(f"image {name}", f"image {name} ({info.short_id}) is missing its "
                                                f"{what} blob {d}: {_reimport(info)}"))
        if missing or info.manifest_digest in bad:
            continue
        try:
            m = parse_manifest(store.blobs.path(info.manifest_digest).read_bytes())
        except (OSError, SampanError) as e:
            out.append(problem(f"image {name}", f"image {name} ({info.short_id}): its manifest "
                                                f"cannot be read ({e}): {_reimport(info)}"))
            continue
        recorded = [(l.digest, l.size) for l in info.layers]
        if m.config.digest != info.id or [(d.digest, d.size) for d in m.layers] != recorded:
            out.append(problem(f"image {name}", f"image {name} ({info.short_id}): its manifest "
                                                "names other blobs than the database records: "
                                                f"{_reimport(info)}"))


def _verify_layout(store: ImageStore, images: list[ImageInfo], out: list[CheckFinding]) -> None:
    """oci-layout and index.json parse, and index.json lists what the database does."""
    from sampan.store.layout import build_index

    paths = store.paths
    retag = ("it is rewritten by the next tag change (e.g. `sampan tag "
             f"{image_name(images[0])} {image_name(images[0])}`)" if images else
             "it is rewritten by the next image change")
    layout = _read_json(paths.oci_layout, images, retag, out)
    if layout is not None and (not isinstance(layout, dict) or "imageLayoutVersion" not in layout):
        out.append(problem(str(paths.oci_layout), f"{paths.oci_layout} has no imageLayoutVersion: "
                                                  f"{retag}"))
    index = _read_json(paths.index_json, images, retag, out)
    if index is None:
        return
    want = _index_entries(build_index(store.catalog))
    have = _index_entries(index)
    if have is None:
        out.append(problem(str(paths.index_json), f"{paths.index_json} is not an OCI index: "
                                                  f"{retag}"))
    elif want is not None and have != want:
        out.append(problem(str(paths.index_json),
                           f"{paths.index_json} is stale: it lists {len(have - want)} entries the "
                           f"database does not and lacks {len(want - have)} (skopeo and umoci see "
                           f"the wrong images): {retag}"))
    for name in list_dir(paths.root, out):
        if name.startswith(".") and ".tmp-" in name:  # state.atomic's temp names
            out.append(note(str(paths.root / name), f"{paths.root / name} was left by an "
                                                    "interrupted write: harmless; delete it"))


def _read_json(path: Path, images: list, retag: str, out: list[CheckFinding]):
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if images:
            out.append(problem(str(path), f"{path} is missing, so other OCI tools cannot read "
                                          f"the store: {retag}"))
        return None
    except OSError as e:
        out.append(problem(str(path), f"{path} cannot be read ({os_reason(e)}): {retag}"))
        return None
    try:
        return json.loads(data)
    except ValueError:
        out.append(problem(str(path), f"{path} is not valid JSON ({len(data)} bytes; truncated "
                                      f"or corrupt): {retag}"))
        return None


def _index_entries(index) -> set[tuple] | None:
    try:
        return {(m["digest"], (m.get("annotations") or {}).get("org.opencontainers.image.ref.name"))
                for m in index["manifests"]}
    except (TypeError, KeyError, AttributeError):
        return None


def _digest_named(directory: Path, what: str, out: list[CheckFinding]) -> list[Path]:
    """The entries of directory named by a sha256 hex digest; any other is a note."""
    found = []
    for name in list_dir(directory, out):
        path = directory / name
        if is_hex64(name):
            found.append(path)
        else:
            out.append(note(str(path), f"{path} is not {what}: nothing uses it; delete it"))
    return found


def _verify_unpacked(store: ImageStore, images: list[ImageInfo], out: list[CheckFinding]) -> None:
    """layers/<chain>: complete ones have their diff/; half-unpacked or unused ones are notes."""
    used = {c for info in images for c in info.chain_ids}
    for d in _digest_named(store.paths.layers, "an unpacked layer (its name is no chain id)", out):
        chain = "sha256:" + d.name
        if not (d / COMPLETE).exists():
            out.append(note(f"layer {chain}", f"layer {chain} was left half unpacked at {d} (an "
                                              "interrupted unpack): harmless, it is unpacked "
                                              "again when next needed"))
        elif not (d / "diff").is_dir():
            out.append(problem(f"layer {chain}", f"layer {chain} is marked complete but {d}/diff "
                                                 f"is missing: delete {d} (`rm -r {d}`), it is "
                                                 "unpacked again when next needed"))
        elif chain not in used:
            unmount = f"`umount {d}/diff && rm -r {d}`" if mounts_under(d / "diff") else f"`rm -r {d}`"
            out.append(note(f"layer {chain}", f"layer {chain} at {d} is used by no image (left "
                                              "by an interrupted rmi or a build): harmless; "
                                              f"{unmount} reclaims its space"))
    _verify_tmp(store, out)


def _verify_tmp(store: ImageStore, out: list[CheckFinding]) -> None:
    tmp = store.paths.tmp
    names = list_dir(tmp, out)
    if not names:
        return
    size = 0
    for n in names:
        try:
            size += (tmp / n).lstat().st_size
        except OSError:
            pass
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    mounted = mounts_under(tmp)
    advice = (f"still mounted: {', '.join(mounted[:3])}; if no build is running, "
              f"`umount -R` them, then delete the leftovers" if mounted
              else "delete them when no sampan command is running")
    out.append(note(str(tmp), f"{len(names)} leftover temp file(s) in {tmp} ({shown}; {size} "
                              f"bytes) from interrupted writes or ones in progress: harmless; "
                              f"{advice}"))
