"""Manifests as a registry serves them, in oci.image's models (the one model of manifests,
indexes and descriptors that the store and archives use too), with the checks that belong
to pulling: the config must be a container image's, and an index's entry for the wanted
platform is chosen here.

Everything here treats its input as hostile: unknown media types, missing fields,
malformed digests and negative sizes are refused with one line naming the image.
"""

from __future__ import annotations

import os

from sampan.errors import InvalidArgument, RegistryError
from sampan.oci.image import (CONFIG_TYPES, INDEX_TYPES, MANIFEST_TYPES, MAX_MANIFEST_BYTES, Descriptor,
                              Index, Manifest, Platform, manifest_media_type, parse_index)
from sampan.oci.image import parse_manifest as parse_image_manifest
from sampan.oci.platform import GOARCH, goarch

__all__ = ["ACCEPT", "MAX_MANIFEST_BYTES", "Descriptor", "Index", "Manifest", "Platform", "parse_manifest",
           "parse_platform", "select_platform"]

ACCEPT = ", ".join(sorted(MANIFEST_TYPES) + sorted(INDEX_TYPES))
MAX_CONFIG_BYTES = 8 << 20


def parse_manifest(raw: bytes, image: str) -> Manifest | Index:
    """An image manifest or an index, by what the body says (or its shape, where OCI lets
    mediaType out)."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise RegistryError(f"{image}: manifest is larger than {MAX_MANIFEST_BYTES} bytes; refused")
    try:
        mt = manifest_media_type(raw)
        if mt in INDEX_TYPES:
            return parse_index(raw)
        if mt not in MANIFEST_TYPES:
            raise RegistryError(f"{image}: unsupported manifest media type {mt[:100]!r}")
        manifest = parse_image_manifest(raw)
    except InvalidArgument as e:
        raise RegistryError(f"{image}: {e}") from None
    config = manifest.config
    if config.media_type not in CONFIG_TYPES:
        raise RegistryError(f"{image}: not a container image (config media type {config.media_type[:100]!r})")
    if config.size > MAX_CONFIG_BYTES:
        raise RegistryError(f"{image}: image config declares {config.size} bytes; refused")
    return manifest


# --- platforms ---


def host_platform() -> Platform:
    machine = os.uname().machine      # what platform.machine() says, without importing it
    arch = goarch(machine)
    variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine)
    return Platform("linux", arch, variant)


def parse_platform(spec: str | None) -> Platform:
    if not spec:
        return host_platform()
    parts = spec.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f"invalid platform {spec!r}: expected os/arch[/variant], e.g. linux/amd64")
    arch = GOARCH.get(parts[1], parts[1])
    return Platform(parts[0], arch, parts[2] if len(parts) == 3 else None)


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
        p = d.platform or Platform("", "")
        os_, arch, var = p.os, p.architecture, p.variant or ""
        if os_ == "unknown" or d.media_type not in MANIFEST_TYPES | INDEX_TYPES:
            continue  # attestations and other non-image entries
        offered.append("/".join(x for x in (os_, arch, var) if x))
        if os_ == want.os and arch == want.architecture and _variant_matches(want, var):
            candidates.append((var == (want.variant or ""), d))
    if not candidates:
        listing = ", ".join(sorted(set(offered))) or "none"
        raise RegistryError(f"{image}: no image for platform {want} (available: {listing}); "
                            f"use --platform to pick one")
    # exact variant first; then a zstd variant (inflates several times as fast as gzip, and
    # is smaller: the same image, same config and diff_ids); then document order
    candidates.sort(key=lambda c: (not c[0], not _is_zstd_variant(c[1])))
    return candidates[0][1]


# how containers/image (Podman, Buildah, skopeo --format) marks an index entry whose layers
# are zstd beside a gzip entry for the same platform; Docker takes the first entry
ZSTD_VARIANT = "io.github.containers.compression.zstd"


def _is_zstd_variant(d: Descriptor) -> bool:
    return d.annotations.get(ZSTD_VARIANT) == "true"
