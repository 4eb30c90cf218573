"""OCI / Docker image manifests and configs: media types, descriptors, validation.

Manifests and configs come from registries and tar files, i.e. from strangers:
every field is type-checked here so the rest of sampan can trust the shape.

The records are plain immutable-by-convention classes, not dataclasses: every
`run` imports this module, and a dataclass costs ~1 ms to define (plus ~10 ms
for importing `dataclasses` itself).
"""

from __future__ import annotations

import json

from sampan.errors import InvalidArgument
from sampan.oci.digest import is_digest, sha256_hex_small

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Any

# --- media types -------------------------------------------------------------
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
LAYER_TYPES = frozenset({
    OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_LAYER_NONDIST, OCI_LAYER_NONDIST_GZIP,
    OCI_LAYER_NONDIST_ZSTD, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_LAYER_ZSTD,
    DOCKER_FOREIGN_LAYER,
})
NONDISTRIBUTABLE_TYPES = frozenset({OCI_LAYER_NONDIST, OCI_LAYER_NONDIST_GZIP,
                                    OCI_LAYER_NONDIST_ZSTD, DOCKER_FOREIGN_LAYER})

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
MAX_MANIFEST_BYTES = 4 << 20  # same cap as containerd: a manifest is small JSON


class Platform:
    __slots__ = ("os", "architecture", "variant")

    def __init__(self, os: str, architecture: str, variant: str | None = None) -> None:
        self.os = os
        self.architecture = architecture
        self.variant = variant

    def _key(self) -> tuple:
        return (self.os, self.architecture, self.variant)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Platform) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Platform(os={self.os!r}, architecture={self.architecture!r}, variant={self.variant!r})"

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


class Descriptor:
    __slots__ = ("media_type", "digest", "size", "annotations", "platform", "urls")

    def __init__(self, media_type: str, digest: str, size: int,
                 annotations: dict[str, str] | None = None, platform: Platform | None = None,
                 urls: tuple[str, ...] = ()) -> None:
        self.media_type = media_type
        self.digest = digest
        self.size = size
        self.annotations = {} if annotations is None else annotations
        self.platform = platform
        self.urls = urls

    def _key(self) -> tuple:
        # annotations are not part of a descriptor's identity
        return (self.media_type, self.digest, self.size, self.platform, self.urls)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, Descriptor) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Descriptor(media_type={self.media_type!r}, digest={self.digest!r}, "
                f"size={self.size!r}, annotations={self.annotations!r}, "
                f"platform={self.platform!r}, urls={self.urls!r})")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            p = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                p["variant"] = self.platform.variant
            out["platform"] = p
        return out


class Manifest:
    __slots__ = ("media_type", "config", "layers", "annotations")

    def __init__(self, media_type: str, config: Descriptor, layers: tuple[Descriptor, ...],
                 annotations: dict[str, str] | None = None) -> None:
        self.media_type = media_type
        self.config = config
        self.layers = layers
        self.annotations = {} if annotations is None else annotations

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Manifest):
            return NotImplemented
        return (self.media_type, self.config, self.layers) == \
            (other.media_type, other.config, other.layers)

    def __hash__(self) -> int:
        return hash((self.media_type, self.config, self.layers))

    def __repr__(self) -> str:
        return (f"Manifest(media_type={self.media_type!r}, config={self.config!r}, "
                f"layers={self.layers!r}, annotations={self.annotations!r})")


class Index:
    __slots__ = ("media_type", "manifests")

    def __init__(self, media_type: str, manifests: tuple[Descriptor, ...]) -> None:
        self.media_type = media_type
        self.manifests = manifests

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Index):
            return NotImplemented
        return (self.media_type, self.manifests) == (other.media_type, other.manifests)

    def __hash__(self) -> int:
        return hash((self.media_type, self.manifests))

    def __repr__(self) -> str:
        return f"Index(media_type={self.media_type!r}, manifests={self.manifests!r})"


def _bad(what: str) -> InvalidArgument:
    return InvalidArgument(f"invalid {what}")


def _load_json_object(data: bytes, what: str) -> dict[str, Any]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _bad(f"{what}: expected bytes")
    if len(data) > MAX_MANIFEST_BYTES:
        raise _bad(f"{what}: larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        obj = json.loads(bytes(data))
    except (ValueError, RecursionError) as e:
        raise _bad(f"{what}: not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise _bad(f"{what}: expected a JSON object")
    return obj


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _bad(f"{what}: annotations must map strings to strings")
    return dict(value)


def parse_descriptor(obj: Any, what: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise _bad(f"{what}: descriptor must be an object")
    mt, dg, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
    if not isinstance(mt, str) or not mt:
        raise _bad(f"{what}: descriptor has no mediaType")
    if not isinstance(dg, str) or not is_digest(dg):
        raise _bad(f"{what}: descriptor digest {dg!r} is not sha256:<64 hex>")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _bad(f"{what}: descriptor size {size!r} is not a non-negative integer")
    urls = obj.get("urls") or ()
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        urls = ()
    platform = None
    p = obj.get("platform")
    if p is not None:
        if not isinstance(p, dict) or not isinstance(p.get("os"), str) \
                or not isinstance(p.get("architecture"), str):
            raise _bad(f"{what}: platform needs string os and architecture")
        variant = p.get("variant")
        platform = Platform(p["os"], p["architecture"], variant if isinstance(variant, str) else None)
    return Descriptor(mt, dg, size, _str_map(obj.get("annotations"), what), platform, tuple(urls))


def manifest_media_type(data: bytes) -> str:
    """The media type a manifest declares (or implies by its shape)."""
    obj = _load_json_object(data, "manifest")
    mt = obj.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    if "manifests" in obj:
        return OCI_INDEX
    return OCI_MANIFEST


def parse_manifest(data: bytes) -> Manifest:
    """Validate an image manifest (OCI or Docker schema 2). Indexes are refused here."""
    obj = _load_json_object(data, "image manifest")
    if obj.get("schemaVersion") != 2:
        raise _bad(f"image manifest: schemaVersion {obj.get('schemaVersion')!r}, expected 2")
    mt = obj.get("mediaType")
    if mt is None:
        mt = OCI_MANIFEST
    if mt in INDEX_TYPES or "manifests" in obj:
        raise _bad("image manifest: this is a manifest list/index; pick one platform's manifest")
    if mt not in MANIFEST_TYPES:
        raise _bad(f"image manifest: unsupported mediaType {mt!r}")
    config = parse_descriptor(obj.get("config"), "image manifest config")
    layers = obj.get("layers")
    if not isinstance(layers, list):
        raise _bad("image manifest: layers must be a list")
    descs = tuple(parse_descriptor(d, f"image manifest layer {i}") for i, d in enumerate(layers))
    for i, d in enumerate(descs):
        if d.media_type not in LAYER_TYPES:
            raise _bad(f"image manifest layer {i}: unsupported mediaType {d.media_type!r}")
    return Manifest(mt, config, descs, _str_map(obj.get("annotations"), "image manifest"))


def parse_index(data: bytes) -> Index:
    obj = _load_json_object(data, "image index")
    if obj.get("schemaVersion") != 2:
        raise _bad(f"image index: schemaVersion {obj.get('schemaVersion')!r}, expected 2")
    mt = obj.get("mediaType") or OCI_INDEX
    if mt not in INDEX_TYPES:
        raise _bad(f"image index: unsupported mediaType {mt!r}")
    items = obj.get("manifests")
    if not isinstance(items, list):
        raise _bad("image index: manifests must be a list")
    return Index(mt, tuple(parse_descriptor(d, f"image index entry {i}") for i, d in enumerate(items)))


_CONFIG_STR_LISTS = ("Env", "Cmd", "Entrypoint", "Shell", "OnBuild")
_CONFIG_STRINGS = ("User", "WorkingDir", "StopSignal")
_CONFIG_SETS = ("ExposedPorts", "Volumes")


def _check_exec_config(c: Any) -> None:
    if c is None:
        return
    if not isinstance(c, dict):
        raise _bad("image config: 'config' must be an object")
    for k in _CONFIG_STR_LISTS:
        v = c.get(k)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
            raise _bad(f"image config: config.{k} must be a list of strings")
    for k in _CONFIG_STRINGS:
        v = c.get(k)
        if v is not None and not isinstance(v, str):
            raise _bad(f"image config: config.{k} must be a string")
    for k in _CONFIG_SETS:
        v = c.get(k)
        if v is not None and (not isinstance(v, dict) or not all(isinstance(x, str) for x in v)):
            raise _bad(f"image config: config.{k} must be an object keyed by strings")
    labels = c.get("Labels")
    if labels is not None:
        _str_map(labels, "image config: config.Labels")


def parse_config(data: bytes) -> dict[str, Any]:
    """Validate an image config and return it as a dict (shape checked, unknown keys kept)."""
    obj = _load_json_object(data, "image config")
    for k in ("architecture", "os"):
        if not isinstance(obj.get(k), str):
            raise _bad(f"image config: {k!r} must be a string")
    rootfs = obj.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise _bad("image config: rootfs must be {\"type\": \"layers\", ...}")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and is_digest(d) for d in diff_ids):
        raise _bad("image config: rootfs.diff_ids must be a list of sha256 digests")
    created = obj.get("created")
    if created is not None and not isinstance(created, str):
        raise _bad("image config: created must be an RFC 3339 string")
    history = obj.get("history")
    if history is not None:
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise _bad("image config: history must be a list of objects")
        for h in history:
            for k in ("created", "created_by", "comment", "author"):
                if h.get(k) is not None and not isinstance(h[k], str):
                    raise _bad(f"image config: history {k} must be a string")
            if h.get("empty_layer") is not None and not isinstance(h["empty_layer"], bool):
                raise _bad("image config: history empty_layer must be a boolean")
    _check_exec_config(obj.get("config"))
    return obj


def chain_ids(diff_ids: list[str]) -> list[str]:
    """ChainID of every layer prefix, as the OCI image spec defines them (bottom first)."""
    out: list[str] = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            out.append("sha256:" + sha256_hex_small(f"{out[-1]} {d}".encode()))
    return out


def chain_id(diff_ids: list[str]) -> str:
    """ChainID of a whole layer stack (the last of :func:`chain_ids`)."""
    if not diff_ids:
        raise InvalidArgument("chain id of an empty layer list")
    return chain_ids(diff_ids)[-1]
