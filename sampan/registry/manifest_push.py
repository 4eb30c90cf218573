"""`manifest push`: an index of manifests already in the registry (docker/cli's manifest
push). Each listed manifest must be on the list's registry; one in another repository is
copied to the list's (its blobs mounted across repositories, its bytes put by digest)."""

from __future__ import annotations

import hashlib

from sampan.errors import InvalidArgument, RegistryError
from sampan.oci.image import parse_manifest as parse_image_manifest
from sampan.oci.reference import parse_reference
from sampan.registry.client import RegistryClient


def push_index(list_ref: str, body: bytes, media_type: str, entries: list[tuple[str, bytes, str]], *,
               tls_verify: bool | None = None, auth: tuple[str, str] | None = None) -> str:
    """Put ``body`` (the index) under list_ref's tag after making sure every (ref, manifest
    bytes, media type) in ``entries`` is in list_ref's repository. Returns the index digest."""
    target = parse_reference(list_ref)
    if target.digest:
        raise InvalidArgument(f"cannot push a manifest list to a digest reference {list_ref!r}; give a tag")
    repo = target.path
    scopes = [f"repository:{repo}:pull,push"]
    with RegistryClient(target.domain, target.familiar(), tls_verify=tls_verify, auth=auth) as client:
        for ref, raw, mtype in entries:
            source = parse_reference(ref)
            if source.domain != target.domain:
                raise InvalidArgument("cannot use source images from a different registry than the target "
                                      f"image: {source.domain} != {target.domain}")
            if source.path == repo:
                continue
            manifest = parse_image_manifest(raw)
            for desc in {d.digest: d for d in (manifest.config, *manifest.layers)}.values():
                _mount(client, repo, source.path, desc.digest)
            digest = "sha256:" + hashlib.sha256(raw).hexdigest()
            with client.request("PUT", f"/v2/{repo}/manifests/{digest}", scopes=scopes, ok=(200, 201),
                                what=f"copying manifest {digest[:19]}", headers={"Content-Type": mtype},
                                content=raw):
                pass
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        with client.request("PUT", f"/v2/{repo}/manifests/{target.tag or 'latest'}", scopes=scopes,
                            ok=(200, 201), what="uploading the manifest list",
                            headers={"Content-Type": media_type}, content=body) as r:
            echoed = r.headers.get("docker-content-digest", "")
        if echoed.startswith("sha256:") and echoed != digest:
            raise RegistryError(f"{target.familiar()}: the registry stored the list as {echoed}, expected {digest}")
        return digest


def _mount(client: RegistryClient, repo: str, source: str, digest: str) -> None:
    with client.request("HEAD", f"/v2/{repo}/blobs/{digest}", scopes=[f"repository:{repo}:pull,push"],
                        what=f"checking blob {digest[7:19]}", allow_404=True) as r:
        if r.status_code == 200:
            return
    with client.request("POST", f"/v2/{repo}/blobs/uploads/?mount={digest}&from={source}",
                        scopes=[f"repository:{repo}:pull,push", f"repository:{source}:pull"],
                        what=f"mounting blob {digest[7:19]}", ok=(201, 202)) as r:
        if r.status_code != 201:
            raise RegistryError(f"{client.image}: {client.host} would not mount blob {digest[7:19]} "
                                f"from {source}; refused")
