"""`manifest inspect`: what a registry holds under a reference, as docker/cli's registry
client reads it (cli/registry/client/fetcher.go): one image manifest, with the platform its
config names; or an index and each manifest it lists, with the platform the index gives.

Everything is hostile: each manifest is bounded (MAX_MANIFEST_BYTES) and must hash to the
digest asked for (or the one the registry declared); a listed manifest must also have the
size its index entry says; an index lists at most MAX_ENTRIES manifests and may not nest;
a config is read only up to its declared (bounded) size and digest-checked.
"""

from __future__ import annotations

import json

from sampan.errors import DigestMismatch, ImageNotFound, InvalidArgument, RegistryError
from sampan.oci.image import INDEX_TYPES, MANIFEST_TYPES, manifest_media_type, parse_index
from sampan.oci.image import parse_manifest as parse_image_manifest
from sampan.oci.reference import parse_reference
from sampan.registry.client import RegistryClient
from sampan.registry.fetch import get_manifest, get_small_blob
from sampan.registry.manifests import MAX_CONFIG_BYTES

MAX_ENTRIES = 256
_PLATFORM_KEYS = ("architecture", "os", "os.version", "os.features", "variant")


def inspect_manifest(ref: str, *, tls_verify: bool | None = None, auth: tuple[str, str] | None = None) -> dict:
    """{"ref", "media_type", "digest", "size", "raw", "platform", "children"}: children is None
    for an image manifest, else one such dict per listed manifest (their "ref" name@digest)."""
    reference = parse_reference(ref)
    name = str(reference)
    with RegistryClient(reference.domain, reference.familiar(), tls_verify=tls_verify, auth=auth) as client:
        try:
            raw, _, digest = get_manifest(client, reference.path, reference.digest or reference.tag or "latest")
        except ImageNotFound:
            raise ImageNotFound(f"no such manifest: {name}") from None
        kind = _media_type(raw, name)
        if kind in MANIFEST_TYPES:
            return _image(client, reference.path, name, raw, digest, kind, None, with_config=True)
        try:
            index = parse_index(raw)
            entries = json.loads(raw).get("manifests") or []
        except (ValueError, AttributeError, InvalidArgument) as e:
            raise RegistryError(f"{name}: {str(e)[:200]}") from None
        if len(index.manifests) > MAX_ENTRIES:
            raise RegistryError(f"{name}: the index lists {len(index.manifests)} manifests; refused "
                                f"(limit {MAX_ENTRIES})")
        children = []
        for desc, entry in zip(index.manifests, entries):
            craw, _, cdigest = get_manifest(client, reference.path, desc.digest)  # hashes to desc.digest
            if len(craw) != desc.size:
                raise DigestMismatch(f"{name}: manifest {desc.digest} is {len(craw)} bytes, not the "
                                     f"{desc.size} its index says; refused")
            ckind = _media_type(craw, name)
            if ckind not in MANIFEST_TYPES:
                raise RegistryError(f"{name}: an index within an index ({desc.digest}); refused")
            child_ref = f"{reference.domain}/{reference.path}" + (f":{reference.tag}" if reference.tag else "")
            children.append(_image(client, reference.path, f"{child_ref}@{cdigest}", craw, cdigest, ckind,
                                   _platform(entry.get("platform") if isinstance(entry, dict) else None),
                                   with_config=False))
        return {"ref": name, "media_type": kind, "digest": digest, "size": len(raw), "raw": raw,
                "platform": None, "children": children}


def _media_type(raw: bytes, name: str) -> str:
    try:
        kind = manifest_media_type(raw)
    except (ValueError, InvalidArgument) as e:
        raise RegistryError(f"{name}: {str(e)[:200]}") from None
    if kind not in MANIFEST_TYPES and kind not in INDEX_TYPES:
        raise RegistryError(f"{name}: unsupported manifest media type {kind[:100]!r}")
    return kind


def _image(client, repo: str, name: str, raw: bytes, digest: str, kind: str, platform: dict | None,
           with_config: bool) -> dict:
    try:
        manifest = parse_image_manifest(raw)
    except (ValueError, InvalidArgument) as e:
        raise RegistryError(f"{name}: {str(e)[:200]}") from None
    if with_config:  # Docker fills the descriptor's platform in from the image's config
        if manifest.config.size > MAX_CONFIG_BYTES:
            raise RegistryError(f"{name}: image config declares {manifest.config.size} bytes; refused")
        try:
            config = json.loads(get_small_blob(client, repo, manifest.config, "image config"))
        except ValueError:
            raise RegistryError(f"{name}: the image config is not JSON; refused") from None
        platform = _platform(config if isinstance(config, dict) else None)
    return {"ref": name, "media_type": kind, "digest": digest, "size": len(raw), "raw": raw,
            "platform": platform, "children": None}


def _platform(obj) -> dict | None:
    """The OCI platform fields Docker keeps, in its order; strings (a list for os.features) only."""
    if not isinstance(obj, dict):
        return None
    out: dict = {"architecture": "", "os": ""}
    for key in _PLATFORM_KEYS:
        value = obj.get(key)
        if key == "os.features":
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                out[key] = [v[:200] for v in value[:64]]
        elif isinstance(value, str) and value:
            out[key] = value[:200]
    return out
