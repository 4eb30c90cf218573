"""Image manifests and indexes (OCI and Docker schema2): parse, validate, choose a platform.

Everything here treats its input as hostile: unknown media types, missing fields,
malformed digests and negative sizes are refused with one line naming the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sampan.errors import InvalidArgument, RegistryError
from sampan.oci.digest import is_digest
from sampan.oci.platform import GOARCH, goarch

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join(MANIFEST_TYPES + INDEX_TYPES)

CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json",
                "application/vnd.docker.container.image.v1+json")
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar": None,
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.diff.tar": None,
    "application/vnd.oci.image.layer.nondistributable.v1.tar": None,
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
}
MAX_MANIFEST_BYTES = 4 << 20   # containerd's limit; real manifests are a few KiB
MAX_CONFIG_BYTES = 8 << 20


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor] = field(default_factory=list)


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: list[Descriptor] = field(default_factory=list)


def _descriptor(obj: object, what: str, image: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise RegistryError(f"{image}: malformed {what} descriptor in manifest")
    mt, dg, size = obj.get("mediaType"), obj.get("digest"), obj.get("size")
    if not isinstance(dg, str) or not is_digest(dg):
        raise RegistryError(f"{image}: {what} has an invalid or unsupported digest {str(dg)[:80]!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"{image}: {what} {dg[:19]} has an invalid size {size!r}")
    plat = obj.get("platform")
    urls = obj.get("urls") or ()
    return Descriptor(str(mt or ""), dg, size, plat if isinstance(plat, dict) else None,
                      tuple(str(u) for u in urls) if isinstance(urls, list) else ())


def parse_manifest(raw: bytes, content_type: str | None, image: str) -> ImageManifest | Index:
    """Parse manifest bytes; the body's mediaType wins over the HTTP Content-Type."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise RegistryError(f"{image}: manifest is larger than {MAX_MANIFEST_BYTES} bytes; refused")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RegistryError(f"{image}: manifest is not valid JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{image}: manifest is not a JSON object")
    mt = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not mt:  # OCI allows omitting mediaType: infer from the shape
        mt = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if doc.get("schemaVersion") != 2:
        raise RegistryError(f"{image}: unsupported manifest schema version "
                            f"{doc.get('schemaVersion')!r} (only schema 2 / OCI is supported)")
    if mt in INDEX_TYPES:
        items = doc.get("manifests")
        if not isinstance(items, list):
            raise RegistryError(f"{image}: image index has no manifests list")
        return Index(mt, [_descriptor(d, "index entry", image) for d in items])
    if mt not in MANIFEST_TYPES:
        raise RegistryError(f"{image}: unsupported manifest media type {mt[:100]!r}")
    config = _descriptor(doc.get("config"), "config", image)
    if config.media_type and config.media_type not in CONFIG_TYPES:
        raise RegistryError(f"{image}: not a container image (config media type "
                            f"{config.media_type[:100]!r})")
    if config.size > MAX_CONFIG_BYTES:
        raise RegistryError(f"{image}: image config declares {config.size} bytes; refused")
    layers_raw = doc.get("layers")
    if not isinstance(layers_raw, list):
        raise RegistryError(f"{image}: manifest has no layers list")
    layers = [_descriptor(d, "layer", image) for d in layers_raw]
    for layer in layers:
        if layer.media_type not in LAYER_TYPES:
            raise RegistryError(f"{image}: layer {layer.digest[:19]} has unsupported media type "
                                f"{layer.media_type[:100]!r}")
    return ImageManifest(mt, config, layers)


# --- platforms ---



@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    import platform
    machine = platform.machine()
    arch = goarch(machine)
    variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine, "")
    return Platform("linux", arch, variant)


def parse_platform(spec: str | None) -> Platform:
    if not spec:
        return host_platform()
    parts = spec.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f"invalid platform {spec!r}: expected os/arch[/variant], e.g. linux/amd64")
    arch = GOARCH.get(parts[1], parts[1])
    return Platform(parts[0], arch, parts[2] if len(parts) == 3 else "")


def _variant_matches(want: Platform, have: str) -> bool:
    if not want.variant:
        return True
    default = {"arm64": "v8"}.get(want.architecture, "")
    return (have or default) == want.variant


def select_platform(index: Index, want: Platform, image: str) -> Descriptor:
    """The index entry for want; refuses an index without one (naming what it offers)."""
    candidates = []
    offered = []
    for d in index.manifests:
        p = d.platform or {}
        os_, arch, var = str(p.get("os", "")), str(p.get("architecture", "")), str(p.get("variant", ""))
        if os_ == "unknown" or d.media_type not in MANIFEST_TYPES + INDEX_TYPES + ("",):
            continue  # attestations and other non-image entries
        offered.append("/".join(x for x in (os_, arch, var) if x))
        if os_ == want.os and arch == want.architecture and _variant_matches(want, var):
            candidates.append((var == want.variant, d))
    if not candidates:
        listing = ", ".join(sorted(set(offered))) or "none"
        raise RegistryError(f"{image}: no image for platform {want} (available: {listing}); "
                            f"use --platform to pick one")
    candidates.sort(key=lambda c: not c[0])   # exact variant first, then document order
    return candidates[0][1]
