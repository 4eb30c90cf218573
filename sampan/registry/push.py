"""`push`: send a stored image to a registry, skipping blobs the registry already has.

For each blob: HEAD (skip if present), else try a cross-repository mount from another
repository of the same registry that this image is tagged in, else upload (POST then a
monolithic PUT). Layers go in parallel threads; the manifest goes last, byte for byte as
stored, so its digest is preserved.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator
from urllib.parse import urljoin

from sampan.errors import DigestMismatch, InvalidArgument, RegistryError
from sampan.oci.reference import parse_reference
from sampan.registry.client import RegistryClient
from sampan.registry.manifests import Descriptor, Manifest, parse_manifest
from sampan.registry.progress import ProgressSink, make_progress, short

PARALLEL_LAYERS = 3
CHUNK = 1 << 16   # larger reads gain nothing: the registry takes ~200 MB/s on loopback


def _read_blob(store: Any, digest: str) -> bytes:
    with store.open_blob(digest) as f:
        return f.read()


def _scopes(repo: str, mount_from: str | None = None) -> list[str]:
    out = [f"repository:{repo}:pull,push"]
    if mount_from:
        out.append(f"repository:{mount_from}:pull")
    return out


def _blob_chunks(store: Any, digest: str, key: str, progress: ProgressSink):
    def gen() -> Iterator[bytes]:
        with store.open_blob(digest) as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    return
                progress.advance(key, len(chunk))
                yield chunk
    return gen


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + "digest=" + digest


def push_blob(client: RegistryClient, store: Any, repo: str, desc: Descriptor,
              mount_from: list[str], progress: ProgressSink) -> None:
    key = short(desc.digest)
    with client.request("HEAD", f"/v2/{repo}/blobs/{desc.digest}", scopes=_scopes(repo),
                        what=f"checking blob {key}", allow_404=True) as r:
        if r.status_code == 200:
            progress.end(key, "Layer already exists")
            return
    location = None
    for source in mount_from:
        with client.request("POST", f"/v2/{repo}/blobs/uploads/?mount={desc.digest}&from={source}",
                            scopes=_scopes(repo, source), what=f"mounting blob {key}",
                            ok=(201, 202)) as r:
            if r.status_code == 201:
                progress.end(key, f"Mounted from {source}")
                return
            location = r.headers.get("location")
            break
    if not location:
        with client.request("POST", f"/v2/{repo}/blobs/uploads/", scopes=_scopes(repo),
                            what=f"starting upload of {key}", ok=(202,)) as r:
            location = r.headers.get("location")
    if not location:
        raise RegistryError(f"{client.image}: {client.host} gave no upload location for {key}")
    url = urljoin(client.url(f"/v2/{repo}/blobs/uploads/"), location)
    size = store.blob_size(desc.digest)
    progress.begin(key, size)
    with client.request("PUT", _with_digest(url, desc.digest), scopes=_scopes(repo),
                        what=f"uploading blob {key}", ok=(201, 204), absolute=True,
                        headers={"Content-Type": "application/octet-stream",
                                 "Content-Length": str(size)},
                        content=_blob_chunks(store, desc.digest, key, progress)):
        pass
    progress.end(key, "Pushed")


def _mount_sources(info: Any, domain: str, repo: str) -> list[str]:
    """Other repositories on the same registry that this image is tagged in."""
    out = []
    for tag in getattr(info, "repo_tags", None) or []:
        try:
            r = parse_reference(tag)
        except InvalidArgument:
            continue
        if r.domain == domain and r.path != repo and r.path not in out:
            out.append(r.path)
    return out[:2]


def push(store: Any, local: str, dest: str | None = None, *, tls_verify: bool | None = None,
         progress: object = None, auth: tuple[str, str] | None = None) -> str:
    """Push the stored image `local` to `dest` (default: local's own name). Returns the
    manifest digest as the registry stored it."""
    info = store.resolve(local)
    if dest is None:
        known = getattr(info, "full_tags", None) or info.repo_tags
        if local.startswith("sha256:") or str(parse_reference(local)) not in known:
            raise InvalidArgument(f"{local!r} is not a tag of the image; give the destination "
                                  f"name to push to (e.g. registry.example.com/team/app:1)")
    target = dest or local
    reference = parse_reference(target)
    if reference.digest:
        raise InvalidArgument(f"cannot push to a digest reference {target!r}; give a tag")
    image = reference.familiar()
    raw = _read_blob(store, info.manifest_digest)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    if digest != info.manifest_digest:
        raise DigestMismatch(f"{local}: stored manifest does not match its digest; run `sampan system check`")
    manifest = parse_manifest(raw, image)
    if not isinstance(manifest, Manifest):
        raise RegistryError(f"{local}: only single-platform images can be pushed")
    sink = make_progress(progress)
    try:
        with RegistryClient(reference.domain, image, tls_verify=tls_verify, auth=auth, bulk=True) as client:
            repo = reference.path
            sink.message(f"The push refers to repository [{reference.name}]")
            sources = _mount_sources(info, reference.domain, repo)
            blobs = list({d.digest: d for d in manifest.layers}.values())
            with ThreadPoolExecutor(max_workers=PARALLEL_LAYERS) as pool:
                futures = [pool.submit(push_blob, client, store, repo, d, sources, sink) for d in blobs]
                for f in futures:
                    f.result()
            push_blob(client, store, repo, manifest.config, sources, SilentSinkFor(sink))
            with client.request("PUT", f"/v2/{repo}/manifests/{reference.tag or 'latest'}",
                                scopes=_scopes(repo), what="uploading the manifest", ok=(200, 201),
                                headers={"Content-Type": manifest.media_type}, content=raw) as r:
                echoed = r.headers.get("docker-content-digest", "")
            if echoed.startswith("sha256:") and echoed != digest:
                raise RegistryError(f"{image}: registry stored the manifest as {echoed}, expected {digest}")
            sink.message(f"{reference.tag or 'latest'}: digest: {digest} size: {len(raw)}")
            remember = getattr(store, "add_repo_digest", None)
            if remember is not None:  # as Docker: the pushed name@digest becomes a RepoDigest
                remember(info.id, f"{reference.domain}/{repo}", digest)
            return digest
    finally:
        sink.close()


class SilentSinkFor:
    """Keeps the config blob out of the per-layer progress display."""

    def __init__(self, inner: ProgressSink):
        self.inner = inner

    def begin(self, key: str, total: int | None) -> None: pass
    def advance(self, key: str, n: int) -> None: pass
    def end(self, key: str, status: str) -> None: pass
    def message(self, text: str) -> None: self.inner.message(text)
    def close(self) -> None: pass
