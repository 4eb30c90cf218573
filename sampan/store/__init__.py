"""The image store: content-addressed blobs, layers, image metadata (an OCI layout)."""

from sampan.store.images import ImageStore
from sampan.store.types import ImageInfo, LayerRef

__all__ = ["ImageStore", "ImageInfo", "LayerRef"]
