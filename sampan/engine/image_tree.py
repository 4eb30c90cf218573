"""`image tree`: the images as a tree of the layers they share.

Two images share a layer when they stand on the same chain of layers up to it
(the same diff_ids in the same order from the bottom): that is what a build
reuses from its cache and what the store keeps once.
"""

from __future__ import annotations

from sampan.engine.reports import ImageTreeReport, LayerNode
from sampan.store.types import ImageInfo, LayerRef


def layer_steps(info: ImageInfo) -> list[tuple[LayerRef, str]]:
    """(layer, the instruction that made it) from the bottom up; history entries marked
    empty_layer (ENV, CMD, ...) made no layer."""
    history = [h for h in (info.config.get("history") or []) if not h.get("empty_layer")]
    steps = []
    for i, layer in enumerate(info.layers):
        made_by = history[i].get("created_by", "") if i < len(history) else ""
        steps.append((layer, made_by))
    return steps


def _size(layer: LayerRef) -> int:
    return layer.uncompressed_size if layer.uncompressed_size is not None else layer.size


def image_tree(images: list[ImageInfo]) -> ImageTreeReport:
    """`images`: store ImageInfo records, in the order to show them."""
    report = ImageTreeReport(images=len(images))
    # while building, each node's children are a dict by diff_id; the report has lists
    roots: dict[str, LayerNode] = {}
    distinct: dict[str, int] = {}
    for info in images:
        level = roots
        node = None
        for layer, made_by in layer_steps(info):
            node = level.get(layer.diff_id)
            if node is None:
                node = LayerNode(diff_id=layer.diff_id, size=_size(layer), created_by=made_by, users=0,
                                 children={})  # type: ignore[arg-type]  # a dict while building
                level[layer.diff_id] = node
            node.users += 1
            report.unshared += node.size
            distinct[layer.diff_id] = node.size
            level = node.children  # type: ignore[assignment]
        if node is not None:
            name = ", ".join(info.repo_tags) or info.id.split(":", 1)[-1][:12]
            node.images.append(name)
    report.stored = sum(distinct.values())
    report.roots = _as_lists(roots)
    return report


def _as_lists(level: dict[str, LayerNode]) -> list[LayerNode]:
    out = []
    for node in level.values():
        node.children = _as_lists(node.children)  # type: ignore[arg-type]
        out.append(node)
    return out
