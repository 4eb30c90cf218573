"""Plain records the store hands out: layers and images.

Plain classes, not dataclasses: `run` imports them, and a dataclass costs ~1 ms
to define (and `dataclasses` ~10 ms to import).
"""

from __future__ import annotations


from sampan.oci.image import chain_ids

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Any


class LayerRef:
    """One layer: its uncompressed tar digest (diff_id) and its stored blob. Immutable."""

    __slots__ = ("diff_id", "digest", "size", "media_type", "uncompressed_size")

    def __init__(self, diff_id: str, digest: str, size: int, media_type: str,
                 uncompressed_size: int | None = None) -> None:
        self.diff_id = diff_id
        self.digest = digest              # digest of the blob as stored (compressed)
        self.size = size                  # blob size in bytes
        self.media_type = media_type
        self.uncompressed_size = uncompressed_size

    def _key(self) -> tuple:
        return (self.diff_id, self.digest, self.size, self.media_type, self.uncompressed_size)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, LayerRef) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"LayerRef(diff_id={self.diff_id!r}, digest={self.digest!r}, size={self.size!r}, "
                f"media_type={self.media_type!r}, uncompressed_size={self.uncompressed_size!r})")

    def to_json(self) -> dict[str, Any]:
        return {"diff_id": self.diff_id, "digest": self.digest, "size": self.size,
                "media_type": self.media_type, "uncompressed_size": self.uncompressed_size}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LayerRef":
        return cls(d["diff_id"], d["digest"], d["size"], d["media_type"],
                   d.get("uncompressed_size"))


class ImageInfo:
    __slots__ = ("id", "manifest_digest", "repo_tags", "created", "size", "config", "layers",
                 "manifest_media_type", "full_tags", "repo_digests")

    def __init__(self, id: str, manifest_digest: str, repo_tags: list[str], created: str,
                 size: int, config: dict[str, Any], layers: list[LayerRef],
                 manifest_media_type: str = "", full_tags: list[str] | None = None,
                 repo_digests: list[str] | None = None) -> None:
        self.id = id                        # config digest, "sha256:..."
        self.manifest_digest = manifest_digest
        self.repo_tags = repo_tags          # familiar form: "busybox:latest"
        self.created = created              # RFC 3339
        self.size = size                    # uncompressed layer bytes where known, else compressed
        self.config = config
        self.layers = layers
        self.manifest_media_type = manifest_media_type
        self.full_tags = [] if full_tags is None else full_tags  # "docker.io/library/busybox:latest"
        self.repo_digests = [] if repo_digests is None else repo_digests  # "busybox@sha256:..."

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageInfo):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"ImageInfo({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]

    @property
    def chain_ids(self) -> list[str]:
        return chain_ids(self.diff_ids)


class ImageDeletion:
    """What removing one image did: tags taken off (familiar form), then ids deleted (the
    image id, then the chain ids of unpacked layers no other image uses), in that order."""

    __slots__ = ("untagged", "deleted")

    def __init__(self, untagged: list[str] | None = None, deleted: list[str] | None = None) -> None:
        self.untagged = [] if untagged is None else untagged
        self.deleted = [] if deleted is None else deleted

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageDeletion):
            return NotImplemented
        return (self.untagged, self.deleted) == (other.untagged, other.deleted)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ImageDeletion(untagged={self.untagged!r}, deleted={self.deleted!r})"
