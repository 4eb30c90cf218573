"""A minimal image store with the ImageStore API the registry code needs, for unit tests
that must not depend on sampan.store. Blobs live in a directory; manifests in a dict."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sampan.errors import DigestMismatch, ImageNotFound


@dataclass
class FakeInfo:
    id: str
    manifest_digest: str
    repo_tags: list[str] = field(default_factory=list)


@dataclass
class FakePaths:
    tmp: Path


class FakeStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.paths = FakePaths(self.root / "tmp")
        self.images: dict[str, FakeInfo] = {}     # manifest digest -> info
        self.tags: dict[str, str] = {}            # ref -> manifest digest

    def blob_path(self, d: str) -> Path:
        return self.blobs / d.split(":", 1)[1]

    def has_blob(self, d: str) -> bool:
        return self.blob_path(d).exists()

    def blob_size(self, d: str) -> int:
        return self.blob_path(d).stat().st_size

    def open_blob(self, d: str):
        return open(self.blob_path(d), "rb")

    def put_blob_bytes(self, data: bytes, expected_digest: str | None = None) -> str:
        d = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected_digest and d != expected_digest:
            raise DigestMismatch("fake store: digest mismatch")
        self.blob_path(d).write_bytes(data)
        return d

    def put_blob_stream(self, f, expected_digest=None, expected_size=None):
        data = f.read()
        if expected_size is not None and len(data) != expected_size:
            raise DigestMismatch("fake store: size mismatch")
        return self.put_blob_bytes(data, expected_digest), len(data)

    def register_manifest(self, raw: bytes, ref: str | None, parsed=None) -> FakeInfo:
        d = "sha256:" + hashlib.sha256(raw).hexdigest()
        manifest = json.loads(raw)
        for desc in [manifest["config"]] + manifest["layers"]:
            assert self.has_blob(desc["digest"]), "register before blobs"
        info = self.images.setdefault(d, FakeInfo(manifest["config"]["digest"], d))
        if ref and ref not in info.repo_tags:
            info.repo_tags.append(ref)
            self.tags[ref] = d
        return info

    def resolve(self, name: str) -> FakeInfo:
        from sampan.oci.reference import parse_reference
        for info in self.images.values():
            if name == info.id:
                return info
        ref = str(parse_reference(name))
        if ref in self.tags:
            return self.images[self.tags[ref]]
        raise ImageNotFound(f"no such image {name}")

    def tag(self, src: str, ref: str) -> None:
        info = self.resolve(src)
        self.tags[ref] = info.manifest_digest
        info.repo_tags.append(ref)

    def blob_count(self) -> int:
        return len(os.listdir(self.blobs))
