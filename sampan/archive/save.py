"""`save`: write images as a Docker archive or an OCI archive, streamed to `out`.

docker: what Docker 25+ writes, an OCI layout (oci-layout, index.json, blobs/sha256)
with uncompressed layers, plus manifest.json and repositories so classic `docker load`,
`podman load` and skopeo's docker-archive read it too.
oci: an OCI image layout of the blobs exactly as stored (compressed; manifest digests
preserved), each image named in index.json.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable

from sampan.errors import DigestMismatch, InvalidArgument
from sampan.oci import image as oci
from sampan.oci.reference import parse_reference
from sampan.store.compression import close_reader, open_decompressed

CHUNK = 1 << 20


@dataclass
class Entry:
    info: Any
    refs: list[Any] = field(default_factory=list)   # oci.reference.Reference, tagged


def _hex(d: str) -> str:
    return d.split(":", 1)[1]


def _blob_name(d: str) -> str:
    return "blobs/sha256/" + _hex(d)


class _TarOut:
    """A streamed tar (works on pipes): every member's size is known before its body."""

    def __init__(self, out: BinaryIO):
        self.tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)
        self.written: set[str] = set()

    def _info(self, name: str, size: int, dir: bool = False) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.size, ti.mtime, ti.uid, ti.gid = (0 if dir else size), 0, 0, 0
        ti.mode = 0o755 if dir else 0o644
        ti.type = tarfile.DIRTYPE if dir else tarfile.REGTYPE
        return ti

    def dir(self, name: str) -> None:
        if name not in self.written:
            self.written.add(name)
            self.tar.addfile(self._info(name, 0, dir=True))

    def bytes(self, name: str, data: bytes) -> None:
        if name not in self.written:
            self.written.add(name)
            self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))

    def stream(self, name: str, size: int, reader: Any) -> None:
        if name not in self.written:
            self.written.add(name)
            self.tar.addfile(self._info(name, size), _Exact(reader, size, name))

    def close(self) -> None:
        self.tar.close()


class _Exact:
    """Reads exactly size bytes, failing loudly if the source is short (a corrupt store)."""

    def __init__(self, reader: Any, size: int, name: str):
        self.reader, self.left, self.name = reader, size, name

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.reader.read(n) if n else b""
        if len(data) < n:
            raise DigestMismatch(f"stored blob for {self.name} is shorter than recorded; "
                                 "run `sampan system check`")
        self.left -= len(data)
        return data


def _entries(store: Any, refs: Iterable[str]) -> list[Entry]:
    by_id: dict[str, Entry] = {}
    for name in refs:
        info = store.resolve(name)
        entry = by_id.setdefault(info.id, Entry(info))
        try:
            r = parse_reference(name)
        except InvalidArgument:
            continue                       # saved by id: no tag, as Docker
        if r.digest or str(r) not in (getattr(info, "full_tags", None) or []):
            continue                       # an id or digest, not one of the image's tags
        if r not in entry.refs:
            entry.refs.append(r)
    if not by_id:
        raise InvalidArgument("save needs at least one image")
    return list(by_id.values())


def _uncompressed(store: Any, layer: Any) -> tuple[int, Any]:
    """(size, opener) of a layer's uncompressed tar, verifying it against its diff_id."""
    if layer.digest == layer.diff_id:
        return store.blob_size(layer.digest), lambda: store.open_blob(layer.digest)

    def opener():
        raw = store.open_blob(layer.digest)
        plain, _ = open_decompressed(raw)
        return _Closing(plain, raw)

    sha, size = hashlib.sha256(), 0
    with opener() as r:
        for chunk in iter(lambda: r.read(CHUNK), b""):
            sha.update(chunk)
            size += len(chunk)
    if "sha256:" + sha.hexdigest() != layer.diff_id:
        raise DigestMismatch(f"stored layer {layer.digest[:19]} does not match its diff_id; "
                             "run `sampan system check`")
    return size, opener


class _Closing:
    def __init__(self, plain: Any, raw: Any):
        self.plain, self.raw = plain, raw

    def read(self, n: int = -1) -> bytes:
        return self.plain.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        close_reader(self.plain)
        self.raw.close()


def _write_docker(store: Any, entries: list[Entry], t: _TarOut) -> None:
    index: list[dict] = []
    manifest_json: list[dict] = []
    repositories: dict[str, dict[str, str]] = {}
    for e in entries:
        info = e.info
        layer_descs = []
        for layer in info.layers:
            size, opener = _uncompressed(store, layer)
            with opener() as r:
                t.stream(_blob_name(layer.diff_id), size, r)
            layer_descs.append({"mediaType": oci.OCI_LAYER, "digest": layer.diff_id, "size": size})
        with store.open_blob(info.id) as f:
            config = f.read()
        t.bytes(_blob_name(info.id), config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_MANIFEST,
                               "config": {"mediaType": oci.OCI_CONFIG, "digest": info.id,
                                          "size": len(config)},
                               "layers": layer_descs}, separators=(",", ":")).encode()
        mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        t.bytes(_blob_name(mdigest), manifest)
        for r in e.refs or [None]:
            desc: dict[str, Any] = {"mediaType": oci.OCI_MANIFEST, "digest": mdigest,
                                    "size": len(manifest)}
            if r is not None:
                desc["annotations"] = {oci.ANNOTATION_CONTAINERD_NAME: str(r),
                                       oci.ANNOTATION_REF_NAME: r.tag}
                repositories.setdefault(r.familiar_name(), {})[r.tag] = \
                    _hex(info.layers[-1].diff_id) if info.layers else _hex(info.id)
            index.append(desc)
        manifest_json.append({"Config": _blob_name(info.id),
                              "RepoTags": [r.familiar() for r in e.refs] or None,
                              "Layers": [_blob_name(l.diff_id) for l in info.layers]})
    t.bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX,
                                      "manifests": index}).encode())
    t.bytes("manifest.json", json.dumps(manifest_json).encode())
    t.bytes("repositories", json.dumps(repositories).encode())


def _write_oci(store: Any, entries: list[Entry], t: _TarOut) -> None:
    index = []
    for e in entries:
        info = e.info
        for layer in info.layers:
            with store.open_blob(layer.digest) as f:
                t.stream(_blob_name(layer.digest), store.blob_size(layer.digest), f)
        with store.open_blob(info.id) as f:
            t.bytes(_blob_name(info.id), f.read())
        with store.open_blob(info.manifest_digest) as f:
            manifest = f.read()
        t.bytes(_blob_name(info.manifest_digest), manifest)
        media = info.manifest_media_type or oci.OCI_MANIFEST
        for r in e.refs or [None]:
            desc: dict[str, Any] = {"mediaType": media, "digest": info.manifest_digest,
                                    "size": len(manifest)}
            if r is not None:
                desc["annotations"] = {oci.ANNOTATION_REF_NAME: str(r),
                                       oci.ANNOTATION_CONTAINERD_NAME: str(r)}
            index.append(desc)
    t.bytes("index.json", json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX,
                                      "manifests": index}).encode())


def save(store: Any, refs: list[str], out: BinaryIO, format: str = "docker") -> None:
    """Write the images named by refs (names or ids) to out as one tar archive."""
    if format not in ("docker", "oci"):
        raise InvalidArgument(f"unknown archive format {format!r}: use docker or oci")
    entries = _entries(store, refs)
    t = _TarOut(out)
    t.bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    t.dir("blobs/")
    t.dir("blobs/sha256/")
    (_write_docker if format == "docker" else _write_oci)(store, entries, t)
    t.close()
