"""Removing images (Docker's rmi semantics), pruning, history and disk usage.

Deletion order: the database transaction first (the image is gone for
everyone), then blobs and unpacked layers no remaining image uses, under the
store's exclusive gc lock so a concurrent import cannot reuse a blob we are
about to delete.
"""

from __future__ import annotations

import os
import time

from sampan.errors import Conflict, InvalidArgument
from sampan.oci.reference import parse_reference
from sampan.store.catalog import Catalog
from sampan.store.layout import write_index
from sampan.store.types import ImageDeletion, ImageInfo

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterable

    from sampan.store.images import ImageStore

ORPHAN_GRACE_SECONDS = 3600  # blobs of a pull in flight are not yet referenced


def _familiar(ref: str) -> str:
    return parse_reference(ref).familiar()


def _named_tag(name: str, info: ImageInfo) -> str | None:
    """The full tag if ``name`` is one of the image's tags (not an id or digest)."""
    try:
        ref = parse_reference(name)
    except InvalidArgument:
        return None
    if ref.digest is None and str(ref) in info.full_tags:
        return str(ref)
    return None


def remove(store: "ImageStore", name_or_id: str, force: bool = False) -> ImageDeletion:
    info = store.resolve(name_or_id)
    tag = _named_tag(name_or_id, info)
    if tag is not None and len(info.full_tags) > 1:
        with store.db.tx() as conn:
            Catalog.delete_tag(conn, tag)
        write_index(store.paths, store.catalog)
        return ImageDeletion(untagged=[_familiar(tag)])
    if tag is None and len(info.full_tags) > 1 and not force:
        raise Conflict(f"conflict: unable to delete {info.short_id} (must be forced) - image is "
                       "referenced in multiple repositories; remove it by name:tag, or force")
    return delete_image(store, info)


def delete_image(store: "ImageStore", info: ImageInfo) -> ImageDeletion:
    with store.gc_lock(shared=False):
        with store.db.tx() as conn:
            refs = Catalog.delete_image(conn, info.id)
            used_digests, used_chains = store.catalog.layer_usage()
            Catalog.delete_unused_layer_rows(
                conn, [l.digest for l in info.layers if l.digest not in used_digests])
        done = ImageDeletion([_familiar(r) for r in sorted(refs)], [info.id])
        for d in {info.id, info.manifest_digest, *(l.digest for l in info.layers)}:
            if d not in used_digests:
                store.blobs.delete(d)
        for chain in reversed(info.chain_ids):
            if chain not in used_chains:
                store.unpacker.remove(chain)
                done.deleted.append(chain)
    write_index(store.paths, store.catalog)
    return done


def prune(store: "ImageStore", dangling_only: bool = True, keep: Iterable[str] = ()) -> list[ImageDeletion]:
    """Delete dangling (untagged) images, or every image when not dangling_only,
    except the ids in ``keep`` (the engine passes the images containers use).
    Also clears orphans: unreferenced blobs and temp files older than an hour,
    unpacked layers no image uses."""
    keep = set(keep)
    done: list[ImageDeletion] = []
    for info in store.catalog.all():
        if info.id in keep or (dangling_only and info.full_tags):
            continue
        done.append(delete_image(store, info))
    collect_orphans(store)
    return done


def collect_orphans(store: "ImageStore", grace: float = ORPHAN_GRACE_SECONDS) -> int:
    """Delete what no image references; returns bytes freed (blobs and temp files)."""
    freed = 0
    cutoff = time.time() - grace
    with store.gc_lock(shared=False):
        used_digests, used_chains = store.catalog.layer_usage()
        for d in store.blobs.all_digests():
            if d in used_digests:
                continue
            try:
                st = store.blobs.path(d).stat()
            except FileNotFoundError:
                continue
            if st.st_mtime < cutoff and store.blobs.delete(d):
                freed += st.st_size
        for chain in store.unpacker.all_chain_ids():
            if chain not in used_chains:
                store.unpacker.remove(chain)
        try:
            names = os.listdir(store.paths.tmp)
        except FileNotFoundError:
            names = []
        for n in names:
            p = store.paths.tmp / n
            try:
                st = p.lstat()
                if st.st_mtime < cutoff and p.is_file():
                    p.unlink()
                    freed += st.st_size
            except FileNotFoundError:
                pass
    return freed


def history(info: ImageInfo) -> list[dict]:
    """Docker's history rows, newest first: id, created, created_by, size, comment, tags."""
    entries = info.config.get("history") or [
        {"created": info.created, "created_by": ""} for _ in info.layers]
    layers = iter(info.layers)
    rows: list[dict] = []
    for h in entries:
        size = 0
        if not h.get("empty_layer"):
            layer = next(layers, None)
            if layer is not None:
                size = layer.uncompressed_size if layer.uncompressed_size is not None else layer.size
        rows.append({"id": "<missing>", "created": h.get("created") or info.created,
                     "created_by": h.get("created_by") or "", "size": size,
                     "comment": h.get("comment") or "", "tags": []})
    rows.reverse()
    if rows:
        rows[0]["id"] = info.id
        rows[0]["tags"] = list(info.repo_tags)
    return rows


def _tree_size(path) -> int:
    """Disk blocks of the files under path, not crossing into mounts: a layer kept as an
    EROFS image counts once, as its image file, not again as the tree mounted from it."""
    total = 0
    try:
        dev = os.lstat(path).st_dev
    except FileNotFoundError:
        return 0
    stack = [str(path)]
    while stack:
        try:
            it = os.scandir(stack.pop())
        except OSError:
            continue
        with it:
            for e in it:
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if e.is_dir(follow_symlinks=False):
                    if st.st_dev == dev:
                        stack.append(e.path)
                elif e.is_file(follow_symlinks=False):
                    total += st.st_blocks * 512
    return total


def disk_usage(store: "ImageStore") -> dict:
    images = store.catalog.all()
    sizes: dict[str, int] = {}
    owners: dict[str, set[str]] = {}
    for info in images:
        for l in info.layers:
            sizes[l.digest] = l.size
            owners.setdefault(l.digest, set()).add(info.id)
    dangling = {i.id for i in images if not i.full_tags}
    blobs_size = 0
    for d in store.blobs.all_digests():
        try:
            blobs_size += store.blobs.path(d).stat().st_size
        except FileNotFoundError:
            pass
    return {
        "images": len(images),
        "dangling": len(dangling),
        "layers_size": sum(sizes.values()),
        "dangling_reclaimable": sum(s for d, s in sizes.items() if owners[d] <= dangling),
        "blobs_size": blobs_size,
        "unpacked_size": _tree_size(store.paths.layers),
        "per_image": {i.id: i.size for i in images},
    }
