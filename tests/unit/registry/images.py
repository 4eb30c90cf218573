"""Build small test images (layers, config, manifest) in memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class TestImage:
    manifest: bytes
    config: bytes
    layers: list[bytes]          # compressed blobs
    diff_ids: list[str]

    @property
    def digest(self) -> str:
        return sha(self.manifest)

    def blobs(self) -> dict[str, bytes]:
        out = {sha(self.config): self.config}
        out.update({sha(b): b for b in self.layers})
        return out


def make_image(n_layers: int = 2, *, compress=gzip.compress, arch: str = "amd64",
               media_type: str = "application/vnd.oci.image.manifest.v1+json",
               layer_type: str = "application/vnd.oci.image.layer.v1.tar+gzip",
               seed: bytes | None = None) -> TestImage:
    seed = seed or os.urandom(8)
    tars = [layer_tar({f"f{i}.txt": seed + bytes([i]) * 1000, f"r{i}": os.urandom(3000)})
            for i in range(n_layers)]
    layers = [compress(t) for t in tars]
    diff_ids = [sha(t) for t in tars]
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cfg_type = ("application/vnd.oci.image.config.v1+json" if "oci" in media_type
                else "application/vnd.docker.container.image.v1+json")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": cfg_type, "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": sha(b), "size": len(b)} for b in layers],
    }).encode()
    return TestImage(manifest, config, layers, diff_ids)


def two_platform_index(reg, repo: str = "m", tag: str = "multi") -> tuple[TestImage, TestImage]:
    """An amd64 and an arm64 image, served by reg (a FakeRegistry) under repo:tag as an
    OCI index; returns the two."""
    amd, arm = make_image(1, arch="amd64"), make_image(1, arch="arm64")
    reg.add_image(repo, amd.digest, amd)
    reg.add_image(repo, arm.digest, arm)
    reg.add_manifest(repo, tag, make_index([(amd, "amd64"), (arm, "arm64")]),
                     "application/vnd.oci.image.index.v1+json")
    return amd, arm


def make_index(entries: list[tuple[TestImage, str]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                      "digest": img.digest, "size": len(img.manifest),
                                      "platform": {"os": "linux", "architecture": arch}}
                                     for img, arch in entries]}).encode()


def put_image(store, img: TestImage, ref: str):
    for d, b in img.blobs().items():
        store.put_blob_bytes(b, d)
    store.put_blob_bytes(img.manifest)
    return store.register_manifest(img.manifest, ref)


def promise_other_content(img: TestImage, layer: int) -> None:
    """A hostile image: its config's diff_id for `layer` names other bytes than the layer
    holds (config and manifest re-digested, so only the unpacked content can tell)."""
    cfg = json.loads(img.config)
    cfg["rootfs"]["diff_ids"][layer] = sha(b"other")
    img.config = json.dumps(cfg).encode()
    m = json.loads(img.manifest)
    m["config"].update(digest=sha(img.config), size=len(img.config))
    img.manifest = json.dumps(m).encode()
