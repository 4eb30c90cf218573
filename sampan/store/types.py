"""Plain records the store hands out: layers and images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sampan.oci.image import chain_ids


@dataclass(frozen=True)
class LayerRef:
    """One layer: its uncompressed tar digest (diff_id) and its stored blob."""

    diff_id: str
    digest: str          # digest of the blob as stored (compressed)
    size: int            # blob size in bytes
    media_type: str
    uncompressed_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"diff_id": self.diff_id, "digest": self.digest, "size": self.size,
                "media_type": self.media_type, "uncompressed_size": self.uncompressed_size}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LayerRef":
        return cls(d["diff_id"], d["digest"], d["size"], d["media_type"],
                   d.get("uncompressed_size"))


@dataclass
class ImageInfo:
    id: str                       # config digest, "sha256:..."
    manifest_digest: str
    repo_tags: list[str]          # familiar form: "busybox:latest"
    created: str                  # RFC 3339
    size: int                     # uncompressed layer bytes where known, else compressed
    config: dict[str, Any]
    layers: list[LayerRef]
    manifest_media_type: str = ""
    full_tags: list[str] = field(default_factory=list)  # "docker.io/library/busybox:latest"

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    @property
    def chain_ids(self) -> list[str]:
        return chain_ids(self.diff_ids)
