"""`load`: import images from a Docker archive (manifest.json: Docker 25+ OCI-layout
style, classic `docker save`, `skopeo copy docker-archive:`, `podman save`) or an OCI
archive (index.json + oci-layout). Every blob is verified before anything is written
(digests, sizes, config diff_ids against the uncompressed layers, a size budget per
layer); then blobs go to the store and the images are registered. Returns what was
loaded: references, or image ids for untagged images.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from typing import Any, BinaryIO

from sampan.archive.reader import ArchiveReader
from sampan.errors import DigestMismatch, InvalidArgument, SampanError, UnsafeArchive
from sampan.oci import image as oci
from sampan.oci.layerdigest import LayerDigester
from sampan.oci.reference import parse_reference

DEFAULT_LAYER_BUDGET = 1 << 36
_MEDIA_FOR_COMPRESSION = {None: oci.OCI_LAYER, "gzip": oci.OCI_LAYER_GZIP, "zstd": oci.OCI_LAYER_ZSTD}


@dataclass
class LayerFile:
    path: str          # member path in the archive
    digest: str
    size: int
    media_type: str


@dataclass
class PendingImage:
    manifest: bytes
    config_path: str
    config_digest: str
    layers: list[LayerFile]
    refs: list[str]


def _budget() -> int:
    try:
        return int(os.environ.get("SAMPAN_MAX_LAYER_SIZE", DEFAULT_LAYER_BUDGET))
    except ValueError:
        return DEFAULT_LAYER_BUDGET


def _check_layer(ar: ArchiveReader, path: str, diff_id: str, expected: Any = None) -> LayerFile:
    """Digest, size and diff_id of one layer member; expected is a Descriptor to match."""
    member = ar.member(path, "layer")
    d = LayerDigester(expected_size=expected.size if expected else None, budget=_budget())
    try:
        with ar.open(path, "layer") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                d.update(chunk)
        digest, size, got_diff_id, compression = d.finish()
    except DigestMismatch as e:
        raise DigestMismatch(f"archive layer {path[:80]}: {e}; refused") from None
    if expected is not None and (digest != expected.digest or size != expected.size):
        raise DigestMismatch(f"archive layer {path[:80]} does not match its manifest "
                             f"digest/size; refused")
    if got_diff_id != diff_id:
        raise DigestMismatch(f"archive layer {path[:80]} does not match the config's diff_id "
                             f"{diff_id}; refused")
    assert size == member.size
    media = expected.media_type if expected is not None else _MEDIA_FOR_COMPRESSION[compression]
    return LayerFile(path, digest, size, media)


def _config(ar: ArchiveReader, path: str, want_digest: str | None) -> tuple[bytes, dict, str]:
    raw = ar.read_small(path, "image config")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    if want_digest and digest != want_digest:
        raise DigestMismatch(f"archive image config {path[:80]} does not match its digest; refused")
    try:
        return raw, oci.parse_config(raw), digest
    except InvalidArgument as e:
        raise InvalidArgument(f"archive {path[:80]}: {e}") from None


def _digest_from_blob_path(path: str) -> str | None:
    """Docker 25+/OCI names blobs blobs/sha256/<hex>; legacy names configs <hex>.json."""
    base = posixpath.basename(path)
    if path.startswith("blobs/sha256/"):
        return "sha256:" + base
    if base.endswith(".json") and len(base) == 69:
        return "sha256:" + base[:-5]
    return None


def _docker_images(ar: ArchiveReader) -> list[PendingImage]:
    try:
        entries = json.loads(ar.read_small("manifest.json", "manifest.json"))
    except ValueError:
        raise InvalidArgument("archive manifest.json is not valid JSON") from None
    if not isinstance(entries, list):
        raise InvalidArgument("archive manifest.json is not a list")
    out = []
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("Config"), str) \
                or not isinstance(e.get("Layers"), list):
            raise InvalidArgument("archive manifest.json entry lacks Config or Layers")
        cfg_path = e["Config"]
        raw, config, cfg_digest = _config(ar, cfg_path, _digest_from_blob_path(cfg_path))
        diff_ids = config["rootfs"]["diff_ids"]
        if len(diff_ids) != len(e["Layers"]):
            raise InvalidArgument(f"archive image {cfg_path[:80]}: {len(e['Layers'])} layers but "
                                  f"{len(diff_ids)} diff_ids in its config; refused")
        layers = [_check_layer(ar, str(p), diff) for p, diff in zip(e["Layers"], diff_ids)]
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": oci.OCI_MANIFEST,
            "config": {"mediaType": oci.OCI_CONFIG, "digest": cfg_digest, "size": len(raw)},
            "layers": [{"mediaType": lf.media_type, "digest": lf.digest, "size": lf.size}
                       for lf in layers]}, separators=(",", ":")).encode()
        tags = [str(t) for t in (e.get("RepoTags") or []) if isinstance(t, str)]
        out.append(PendingImage(manifest, cfg_path, cfg_digest, layers, tags))
    return out


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _read_verified(ar: ArchiveReader, desc: Any, what: str) -> bytes:
    raw = ar.read_small(_blob_path(desc.digest), what, limit=oci.MAX_MANIFEST_BYTES)
    if len(raw) != desc.size or "sha256:" + hashlib.sha256(raw).hexdigest() != desc.digest:
        raise DigestMismatch(f"archive {what} {desc.digest[:19]} does not match its digest or size; refused")
    return raw


def _oci_ref_name(desc: Any) -> str | None:
    """io.containerd.image.name is a full name; ref.name may be a full name (podman,
    skopeo) or only a tag (Docker 25+ writes both), which names nothing on its own."""
    ann = desc.annotations or {}
    for key in (oci.ANNOTATION_CONTAINERD_NAME, oci.ANNOTATION_REF_NAME):
        value = ann.get(key)
        if not value:
            continue
        if key == oci.ANNOTATION_REF_NAME and "/" not in value and ":" not in value:
            continue
        try:
            return str(parse_reference(value))
        except InvalidArgument:
            continue
    return None


def _oci_images(ar: ArchiveReader) -> list[PendingImage]:
    try:
        index = oci.parse_index(ar.read_small("index.json", "index.json"))
    except InvalidArgument as e:
        raise InvalidArgument(f"archive {e}") from None
    out: list[PendingImage] = []
    todo = [(d, _oci_ref_name(d), 0) for d in index.manifests]
    while todo:
        desc, ref, depth = todo.pop(0)
        if desc.media_type in oci.INDEX_TYPES:
            if depth > 2:
                raise InvalidArgument("archive image indexes nest too deeply; refused")
            sub = oci.parse_index(_read_verified(ar, desc, "image index"))
            chosen = _pick_platform(sub)
            if chosen is not None:
                todo.append((chosen, ref, depth + 1))
            continue
        raw = _read_verified(ar, desc, "manifest")
        try:
            m = oci.parse_manifest(raw)
        except InvalidArgument as e:
            raise InvalidArgument(f"archive {e}") from None
        cfg_raw, config, _ = _config(ar, _blob_path(m.config.digest), m.config.digest)
        if len(cfg_raw) != m.config.size:
            raise DigestMismatch("archive image config size does not match its manifest; refused")
        diff_ids = config["rootfs"]["diff_ids"]
        if len(diff_ids) != len(m.layers):
            raise InvalidArgument("archive manifest and config disagree on the number of layers")
        layers = [_check_layer(ar, _blob_path(ld.digest), diff, ld) for ld, diff in zip(m.layers, diff_ids)]
        out.append(PendingImage(raw, _blob_path(m.config.digest), m.config.digest, layers,
                                [ref] if ref else []))
    return out


def _pick_platform(index: Any) -> Any:
    from sampan.oci.platform import goarch
    arch = goarch()
    for d in index.manifests:
        if d.platform and d.platform.os == "linux" and d.platform.architecture == arch:
            return d
    return None


def load(store: Any, fileobj: BinaryIO) -> list[str]:
    scratch = getattr(getattr(store, "paths", None), "tmp", None)
    if scratch is not None:
        os.makedirs(scratch, exist_ok=True)
    sweep = getattr(store, "sweep_temps", None)
    if callable(sweep):
        sweep()  # a killed load's blobs, before this one spools and writes its own
    with ArchiveReader(fileobj, scratch) as ar:
        if ar.has("manifest.json"):
            images = _docker_images(ar)
        elif ar.has("index.json"):
            images = _oci_images(ar)
        elif ar.has("repositories"):
            raise InvalidArgument("archive is in the pre-1.10 Docker format (no manifest.json); "
                                  "not supported")
        else:
            raise InvalidArgument("not an image archive: no manifest.json or index.json")
        if not images:
            raise InvalidArgument("archive contains no image for this platform")
        _check_entries(store, ar, images)
        return _commit(store, ar, images)


def _check_entries(store: Any, ar: ArchiveReader, images: list[PendingImage]) -> None:
    """Every layer must unpack: refused now, as `import` refuses, not at the first `run`
    (entries that climb out with '..', absolute names, hardlinks to nothing earlier, writes
    through a symlink, xattrs the kernel refuses, ...)."""
    check = getattr(store, "check_layer", None)
    if check is None:
        return
    for path in dict.fromkeys(lf.path for img in images for lf in img.layers):
        try:
            with ar.open(path, "layer") as f:
                check(f)
        except SampanError as e:
            raise UnsafeArchive(f"archive layer {path[:80]}: {e.message}; refused") from None


def _commit(store: Any, ar: ArchiveReader, images: list[PendingImage]) -> list[str]:
    added: list[str] = []

    def put(path: str, digest: str, size: int) -> None:
        if store.has_blob(digest):
            return
        with ar.open(path, "blob") as f:
            store.put_blob_stream(f, expected_digest=digest, expected_size=size)
        added.append(digest)

    loaded: list[str] = []
    try:
        for img in images:
            put(img.config_path, img.config_digest, ar.member(img.config_path, "config").size)
            for lf in img.layers:
                put(lf.path, lf.digest, lf.size)
            mdigest = "sha256:" + hashlib.sha256(img.manifest).hexdigest()
            if not store.has_blob(mdigest):
                store.put_blob_bytes(img.manifest, expected_digest=mdigest)
                added.append(mdigest)
        for img in images:
            refs = [parse_reference(r).familiar() for r in img.refs]
            info = store.register_manifest(img.manifest, refs[0] if refs else None)
            for r in refs[1:]:
                store.tag(info.id, r)
            loaded.extend(refs or [info.id])
    except BaseException:
        if not loaded:   # nothing registered yet: leave the store exactly as it was
            for d in added:
                try:
                    os.unlink(store.blob_path(d))
                except OSError:
                    pass
        raise
    return loaded
