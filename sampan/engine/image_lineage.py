"""Which images are built on which (`ps -f ancestor=`): sampan records no parent image, so the
image's own record decides. An image descends from A when its layer chain (rootfs.diff_ids)
starts with A's whole chain and its history starts with A's whole history: a build FROM A
keeps both and adds to them (an ENV-only child adds history, no layer), so a base never
counts as its child's descendant, and two unrelated images that merely share a base layer
differ in history. An image with neither layers nor history (scratch) is only itself."""

from __future__ import annotations


def _lineage(img) -> tuple[tuple, tuple]:
    cfg = img.config or {}
    layers = tuple((cfg.get("rootfs") or {}).get("diff_ids") or ())
    history = tuple((h.get("created"), h.get("created_by"), bool(h.get("empty_layer")))
                    for h in cfg.get("history") or () if isinstance(h, dict))
    return layers, history


def descendants(images, ancestor_ids: set[str]) -> set[str]:
    """The ids among ``images`` (ImageInfo) that are one of ``ancestor_ids`` or built on one."""
    by_id = {img.id: img for img in images}
    bases = [_lineage(by_id[i]) for i in ancestor_ids if i in by_id]
    bases = [(layers, history) for layers, history in bases if layers or history]
    out = set(ancestor_ids)
    for img in images:
        layers, history = _lineage(img)
        if any(layers[:len(bl)] == bl and history[:len(bh)] == bh for bl, bh in bases):
            out.add(img.id)
    return out
