"""Download manifests and blobs from one registry, checking every byte on the way in."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sampan.errors import DigestMismatch, PermissionDenied, RegistryError, UnsafeArchive
from sampan.oci.layerdigest import LayerDigester
from sampan.registry.client import RegistryClient
from sampan.registry.digestworker import BackgroundDigester
from sampan.registry.manifests import ACCEPT, MAX_MANIFEST_BYTES, Descriptor
from sampan.registry.progress import ProgressSink, short

CHUNK = 1 << 16
DEFAULT_LAYER_BUDGET = 1 << 36   # 64 GiB uncompressed per layer


def layer_budget() -> int:
    """Most uncompressed bytes one layer may expand to ($SAMPAN_MAX_LAYER_SIZE)."""
    try:
        return int(os.environ.get("SAMPAN_MAX_LAYER_SIZE", DEFAULT_LAYER_BUDGET))
    except ValueError:
        return DEFAULT_LAYER_BUDGET


def _scope(client: RegistryClient, repo: str) -> list[str]:
    return [f"repository:{repo}:pull"]


def get_manifest(client: RegistryClient, repo: str, ref: str) -> tuple[bytes, str, str]:
    """(bytes, content type, digest). When ref is a digest the bytes must hash to it; when
    it is a tag, the registry's Docker-Content-Digest (if sent) must agree with the bytes."""
    with client.request("GET", f"/v2/{repo}/manifests/{ref}", scopes=_scope(client, repo),
                        what="fetching the manifest", headers={"Accept": ACCEPT}) as r:
        declared = int(r.headers.get("content-length") or 0)
        if declared > MAX_MANIFEST_BYTES:
            raise RegistryError(f"{client.image}: manifest is {declared} bytes; refused "
                                f"(limit {MAX_MANIFEST_BYTES})")
        body = bytearray()
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > MAX_MANIFEST_BYTES:
                raise RegistryError(f"{client.image}: manifest is larger than "
                                    f"{MAX_MANIFEST_BYTES} bytes; refused")
        ctype = r.headers.get("content-type", "")
        header_digest = r.headers.get("docker-content-digest", "")
    raw = bytes(body)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    if ref.startswith("sha256:") and digest != ref:
        raise DigestMismatch(f"{client.image}: manifest from {client.host} does not match "
                             f"digest {ref} (got {digest}); refused")
    if header_digest.startswith("sha256:") and header_digest != digest:
        raise DigestMismatch(f"{client.image}: manifest from {client.host} does not match the "
                             f"digest the registry declared ({header_digest}); refused")
    return raw, ctype, digest


def get_small_blob(client: RegistryClient, repo: str, desc: Descriptor, what: str) -> bytes:
    """A config blob: read into memory, at most its declared size, digest checked."""
    sha = hashlib.sha256()
    body = bytearray()
    with client.request("GET", f"/v2/{repo}/blobs/{desc.digest}", scopes=_scope(client, repo),
                        what=f"fetching the {what}", bulk=True) as r:
        for chunk in r.iter_bytes():
            body += chunk
            if len(body) > desc.size:
                raise DigestMismatch(f"{client.image}: {what} {short(desc.digest)} is larger "
                                     f"than its declared {desc.size} bytes; refused")
    sha.update(body)
    if len(body) != desc.size or "sha256:" + sha.hexdigest() != desc.digest:
        raise DigestMismatch(f"{client.image}: {what} {short(desc.digest)} does not match its "
                             f"digest or size; refused")
    return bytes(body)


class Aborted(Exception):
    """Another layer of the same pull failed; stop this one quietly."""


def download_layer(client: RegistryClient, repo: str, desc: Descriptor, diff_id: str,
                   dest: Path, progress: ProgressSink, stop: threading.Event | None = None,
                   feed_for: Callable[[], Any] | None = None) -> int:
    """Stream one layer to dest, checking size (stop past declared), digest, and diff_id.

    feed_for: makes the store's LayerFeed, which unpacks the layer from the bytes the digest
    thread inflates (one decompression for the digest, the diff_id and the unpack); an entry
    it refuses stops the download. Returns the layer's uncompressed size."""
    key = short(desc.digest)
    progress.begin(key, desc.size)
    feed = feed_for() if feed_for is not None else None
    layer = LayerDigester(expected_size=desc.size, budget=layer_budget(),
                          tee=feed.write if feed is not None else None)
    digester = BackgroundDigester(layer)
    received = 0
    try:
        with client.request("GET", f"/v2/{repo}/blobs/{desc.digest}", scopes=_scope(client, repo),
                            what=f"fetching layer {key}", bulk=True) as r, open(dest, "wb") as out:
            for chunk in r.iter_bytes():
                if stop is not None and stop.is_set():
                    raise Aborted()
                received += len(chunk)
                if received > desc.size:     # checked here too: the worker may lag behind
                    raise DigestMismatch(f"blob is larger than its declared {desc.size} bytes")
                digester.update(chunk)
                out.write(chunk)
                progress.advance(key, len(chunk))
            out.flush()
            os.fsync(out.fileno())      # the store may adopt this file by renaming it
        digest, size, got_diff_id, _ = digester.finish()
        if feed is not None:
            feed.finish()
    except DigestMismatch as e:
        raise DigestMismatch(f"{client.image}: layer {key}: {e}; refused") from None
    except (UnsafeArchive, PermissionDenied) as e:   # an entry the extractor refused
        raise RegistryError(f"{client.image}: layer {key}: {e.message}; refused") from None
    except OSError as e:
        if e.filename is None:
            e.filename = str(dest)  # a write names no file: say where (a full disk, say)
        raise
    finally:
        digester.abandon()
        if feed is not None:
            feed.abandon()
    if size != desc.size:
        raise DigestMismatch(f"{client.image}: layer {key} is {size} bytes, the manifest "
                             f"declares {desc.size}; refused")
    if digest != desc.digest:
        raise DigestMismatch(f"{client.image}: layer {key} does not match its digest "
                             f"(got {digest}); refused")
    if got_diff_id != diff_id:
        raise DigestMismatch(f"{client.image}: layer {key} uncompressed content does not match "
                             f"the config's diff_id {diff_id}; refused")
    progress.end(key, "Pull complete")
    return layer.sink.size
