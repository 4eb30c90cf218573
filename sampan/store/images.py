"""ImageStore: the content store and image metadata behind every image verb.

Blobs are content-addressed files (see blobs.py), metadata lives in SQLite
(catalog.py), and the store root is an OCI image layout (layout.py). Each
change is one database transaction followed by an index.json rewrite.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

from sampan.errors import (Conflict, DigestMismatch, ImageNotFound, InvalidArgument,
                           StoreCorrupt)
from sampan.oci.digest import check_digest
from sampan.oci.image import (DOCKER_FOREIGN_LAYER, DOCKER_LAYER, DOCKER_LAYER_GZIP,
                              DOCKER_LAYER_ZSTD, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP,
                              OCI_LAYER_NONDIST_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST,
                              Manifest, chain_ids, parse_config, parse_manifest)
from sampan.oci.platform import goarch
from sampan.oci.reference import parse_reference
from sampan.oci.times import now_rfc3339
from sampan.state.db import Database
from sampan.state.lock import file_lock
from sampan.state.paths import Paths
from sampan.store.blobs import BlobStore
from sampan.store.catalog import Catalog
from sampan.store.layers import LayerUnpacker, layer_from_dir, layer_from_tar
from sampan.store.types import ImageDeletion, ImageInfo, LayerRef

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Iterable

_HEX = frozenset("0123456789abcdef")
_TO_OCI_LAYER = {DOCKER_LAYER: OCI_LAYER, DOCKER_LAYER_GZIP: OCI_LAYER_GZIP,
                 DOCKER_LAYER_ZSTD: OCI_LAYER_ZSTD, DOCKER_FOREIGN_LAYER: OCI_LAYER_NONDIST_GZIP}


def _id_hex(s: str) -> str | None:
    """The hex part of an image id or id prefix (``sha256:``-prefixed or not, 4-64 hex)."""
    h = s[7:] if s.startswith("sha256:") else s
    return h if 4 <= len(h) <= 64 and _HEX.issuperset(h) else None


def host_architecture() -> str:
    return goarch()


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class ImageStore:
    def __init__(self, paths: Paths, db: Database):
        self.paths = paths
        self.db = db
        self.blobs = BlobStore(paths)
        self.catalog = Catalog(db)
        self.unpacker = LayerUnpacker(paths, self.blobs)
        self._swept = False

    def _ensure_dirs(self) -> None:
        for p in (self.paths.blobs, self.paths.tmp, self.paths.layers):
            p.mkdir(parents=True, exist_ok=True)
        from sampan.store.layout import ensure_layout_file

        ensure_layout_file(self.paths)
        self.sweep_temps()

    def sweep_temps(self) -> None:
        """Remove scratch files a killed import/pull/load left (once per process and store:
        a listdir of tmp/ when there are none)."""
        if not self._swept:
            self._swept = True
            from sampan.store.tempfiles import sweep
            sweep(self.paths.tmp)

    @contextmanager
    def gc_lock(self, shared: bool):
        """Shared while recording images, exclusive while deleting blobs."""
        with file_lock(self.paths.locks / "store-gc.lock", shared=shared) as held:
            self.sweep_temps()
            yield held

    # --- blobs ----------------------------------------------------------------
    def put_blob_bytes(self, data: bytes, expected_digest: str | None = None) -> str:
        self._ensure_dirs()
        return self.blobs.put_bytes(data, expected_digest)

    def put_blob_stream(self, fileobj: BinaryIO, expected_digest: str | None = None,
                        expected_size: int | None = None) -> tuple[str, int]:
        self._ensure_dirs()
        return self.blobs.put_stream(fileobj, expected_digest, expected_size)

    def has_blob(self, digest: str) -> bool:
        return self.blobs.has(digest)

    def blob_path(self, digest: str) -> Path:
        return self.blobs.path(digest)

    def open_blob(self, digest: str) -> BinaryIO:
        return self.blobs.open(digest)

    def blob_size(self, digest: str) -> int:
        return self.blobs.size(digest)

    # --- layers ---------------------------------------------------------------
    def add_layer_from_tar(self, fileobj_uncompressed) -> LayerRef:
        self._ensure_dirs()
        return layer_from_tar(self.blobs, fileobj_uncompressed)

    def check_layer(self, fileobj: BinaryIO) -> None:
        """Refuse a layer blob (gzip, zstd or plain tar) that would not unpack: for load and
        pull, which take layers as they are shipped (import checks as it stores)."""
        from sampan.store.layers import check_layer_blob
        self._ensure_dirs()
        check_layer_blob(fileobj, self.paths.tmp)

    def layer_feed(self, staged: Path):
        """A store/layerfeed.LayerFeed unpacking a layer's plain tar, pushed in as it
        arrives, into staged (a new dir in the caller's scratch dir under tmp/)."""
        from sampan.store.layerfeed import make_feed
        return make_feed(staged, self.paths.tmp)

    def adopt_layers(self, staged: Iterable[tuple[Path, str, str, str, int]]) -> int:
        """Adopt the dirs a pull unpacked with layer_feed, after it recorded the image:
        (dir, chain id, diff_id, blob digest, uncompressed size) each. A layer unpacked
        meanwhile by someone else keeps theirs. Returns how many were adopted."""
        staged = list(staged)
        if not staged:
            return 0
        self._ensure_dirs()
        self.unpacker.sync(self.paths.layers)
        adopted = 0
        for path, chain_id, diff_id, digest, usize in staged:
            if self.unpacker.adopt_staged(path, chain_id, diff_id):
                adopted += 1
                self.catalog.set_uncompressed_size(digest, usize)
        return adopted

    def add_layer_from_dir(self, upper: Path) -> LayerRef | None:
        self._ensure_dirs()
        return layer_from_dir(self.blobs, Path(upper))

    def layer_dirs(self, image: ImageInfo | str | list[LayerRef]) -> list[Path]:
        """Unpacked diff dirs of the image's layers, TOP FIRST (overlay lowerdir order).

        ``image`` may also be a bare layer stack (bottom first), as a build step has it.
        """
        if isinstance(image, list):
            layers = image
        else:
            layers = (image if isinstance(image, ImageInfo) else self.resolve(image)).layers
        out = []
        for layer, chain in zip(layers, chain_ids([l.diff_id for l in layers])):
            if not self.unpacker.is_complete(chain):
                size = self.unpacker.ensure(layer, chain)
                if size is not None and layer.uncompressed_size is None:
                    self.catalog.set_uncompressed_size(layer.digest, size)
            try:
                out.append(self.unpacker.ready_dir(chain))
            except OSError:
                # an image this kernel no longer mounts (booted into an older one, say):
                # the layer is unpacked again from its blob, as a directory
                self.unpacker.remove(chain)
                self.unpacker.ensure(layer, chain, as_dir=True)
                out.append(self.unpacker.ready_dir(chain))
        out.reverse()
        return out

    # --- creating images --------------------------------------------------------
    def import_rootfs(self, fileobj, ref: str | None, changes: Iterable[str] = (),
                      message: str | None = None, source: str = "-") -> ImageInfo:
        """``docker import``: the (maybe compressed) tar becomes a one-layer image."""
        from sampan.store.changes import apply_changes
        if ref is not None:
            self._tag_ref(ref)  # fail before reading a big tar
        exec_config = apply_changes({}, list(changes or ()))
        from sampan.store.compression import close_reader, open_decompressed

        plain, _kind = open_decompressed(fileobj)
        try:
            layer = self.add_layer_from_tar(plain)
        finally:
            close_reader(plain)
        created = now_rfc3339()
        config = {"architecture": host_architecture(), "os": "linux", "created": created,
                  "config": exec_config}
        history = [{"created": created, "created_by": "",
                    "comment": message if message else f"Imported from {source}"}]
        return self.write_image(config, [layer], ref, history=history)

    def write_image(self, config: dict, layers: list[LayerRef], ref: str | None,
                    history: list[dict] | None = None, intermediate: bool = False) -> ImageInfo:
        """Write config and OCI manifest for these layers, record the image, tag it."""
        tag = str(self._tag_ref(ref)) if ref is not None else None
        import copy  # not at module top: `run` imports this module and never writes images

        cfg = copy.deepcopy(config)
        cfg.setdefault("architecture", host_architecture())
        cfg.setdefault("os", "linux")
        cfg.setdefault("created", now_rfc3339())
        cfg["rootfs"] = {"type": "layers", "diff_ids": [l.diff_id for l in layers]}
        if history is not None:
            cfg["history"] = history
        elif "history" not in cfg:
            cfg["history"] = [{"created": cfg["created"], "created_by": ""} for _ in layers]
        config_bytes = _dumps(cfg)
        parse_config(config_bytes)  # the same checks a puller would make
        self._ensure_dirs()
        for l in layers:
            self._check_blob(l.digest, l.size, "layer")
        config_digest = self.put_blob_bytes(config_bytes)
        manifest = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                       "size": len(config_bytes)},
            "layers": [{"mediaType": _TO_OCI_LAYER.get(l.media_type, l.media_type),
                        "digest": l.digest, "size": l.size} for l in layers],
        }
        manifest_bytes = _dumps(manifest)
        return self._record(manifest_bytes, OCI_MANIFEST, config_digest, config_bytes, cfg,
                            layers, tag, intermediate)

    def register_manifest(self, manifest_bytes: bytes, ref: str | None, parsed: Manifest | None = None
                          ) -> ImageInfo:
        """Record an image whose blobs were already put (pull, load). ``parsed``: the caller's
        own parse of these bytes (oci.image.parse_manifest), not done twice."""
        tag = str(self._tag_ref(ref)) if ref is not None else None
        m = parsed if parsed is not None else parse_manifest(manifest_bytes)
        self._check_blob(m.config.digest, m.config.size, "config")
        with self.blobs.open(m.config.digest) as f:
            config_bytes = f.read()
        cfg = parse_config(config_bytes)
        diff_ids = cfg["rootfs"]["diff_ids"]
        if len(diff_ids) != len(m.layers):
            raise InvalidArgument(f"invalid image: its config lists {len(diff_ids)} layers but "
                                  f"its manifest {len(m.layers)}")
        layers = []
        for d, diff_id in zip(m.layers, diff_ids):
            self._check_blob(d.digest, d.size, "layer")
            layers.append(LayerRef(diff_id, d.digest, d.size, d.media_type))
        self._ensure_dirs()
        return self._record(bytes(manifest_bytes), m.media_type, m.config.digest, config_bytes,
                            cfg, layers, tag, False)

    def _check_blob(self, digest: str, size: int, what: str) -> None:
        check_digest(digest)
        if not self.blobs.has(digest):
            raise StoreCorrupt(f"{what} blob {digest} is not in the store; put it before "
                               "recording the image")
        have = self.blobs.size(digest)
        if have != size:
            raise DigestMismatch(f"{what} blob {digest} is {have} bytes, but the manifest says "
                                 f"{size}")

    def _record(self, manifest_bytes: bytes, media_type: str, config_digest: str,
                config_bytes: bytes, cfg: dict, layers: list[LayerRef], tag: str | None,
                intermediate: bool) -> ImageInfo:
        with self.gc_lock(shared=True):
            manifest_digest = self.put_blob_bytes(manifest_bytes)
            for d in [config_digest] + [l.digest for l in layers]:
                if not self.blobs.has(d):  # deleted by a concurrent rmi since we checked
                    raise StoreCorrupt(f"blob {d} vanished while recording the image; retry")
            with self.db.tx() as conn:
                self.catalog.insert_image(
                    conn, image_id=config_digest, manifest_digest=manifest_digest,
                    manifest_media_type=media_type, manifest_size=len(manifest_bytes),
                    created=cfg.get("created") or "1970-01-01T00:00:00Z",
                    config_json=config_bytes.decode(), layers=layers, intermediate=intermediate)
                if tag:
                    self.catalog.set_tag(conn, tag, config_digest)
        self._write_index()
        return self._get(config_digest)

    # --- finding images ----------------------------------------------------------
    def _get(self, image_id: str) -> ImageInfo:
        info = self.catalog.get(image_id)
        if info is None:
            raise ImageNotFound(f"No such image: {image_id}")
        return info

    @staticmethod
    def _not_found(name: str) -> ImageNotFound:
        return ImageNotFound(f"No such image: {name}; `sampan images` lists local images; "
                             "`sampan import` or `sampan pull` adds one")

    @staticmethod
    def _tag_ref(ref: str):
        r = parse_reference(ref)
        if r.digest:
            raise InvalidArgument(f"cannot tag with a digest reference {ref!r}: give name:tag")
        return r

    def resolve(self, name_or_id: str) -> ImageInfo:
        """Find an image by reference, full id, ``sha256:`` prefix or short id (>= 4 hex)."""
        if not isinstance(name_or_id, str) or not name_or_id:
            raise InvalidArgument("no image name given")
        s = name_or_id
        id_hex = _id_hex(s)
        ref, parse_error = None, None
        if not s.startswith("sha256:") and not (id_hex and len(id_hex) == 64):
            try:
                ref = parse_reference(s)
            except InvalidArgument as e:
                parse_error = e
        if ref is not None:
            info = (self.catalog.by_manifest(ref.digest) if ref.digest
                    else self.catalog.by_tag(str(ref)))
            if info is not None:
                return info
        if id_hex:
            ids = self.catalog.ids_with_prefix(id_hex)
            if len(ids) > 1:
                raise Conflict(f"image id prefix {s!r} is ambiguous: several images match; "
                               "give more characters")
            if ids:
                return self._get(ids[0])
        elif parse_error is not None:
            raise parse_error
        raise self._not_found(s)

    def list_images(self, all: bool = False) -> list[ImageInfo]:
        """Newest first; intermediate build images only with all=True."""
        return self.catalog.all(include_intermediate=all)

    # --- tags ---------------------------------------------------------------------
    def tag(self, src: str, ref: str) -> ImageInfo:
        info = self.resolve(src)
        tag = str(self._tag_ref(ref))
        with self.db.tx() as conn:
            self.catalog.set_tag(conn, tag, info.id)
        self._write_index()
        return self._get(info.id)

    def add_repo_digest(self, image_id: str, name: str, digest: str) -> None:
        """Remember that a registry holds image_id's manifest under name@digest (what
        `images --digests` and inspect's RepoDigests show): after a pull by it, or a push."""
        check_digest(digest)
        ref = parse_reference(name)
        full = f"{ref.domain}/{ref.path}@{digest}"
        with self.db.tx() as conn:
            if conn.execute("SELECT 1 FROM images WHERE id = ?", (image_id,)).fetchone():
                self.catalog.set_repo_digest(conn, full, image_id)

    def untag(self, ref: str) -> bool:
        tag = str(self._tag_ref(ref))
        with self.db.tx() as conn:
            gone = self.catalog.delete_tag(conn, tag)
        if gone:
            self._write_index()
        return gone

    def _write_index(self) -> None:
        from sampan.store.layout import write_index

        write_index(self.paths, self.catalog)

    # --- removal and reports (maintenance.py) ---------------------------------------------
    def remove(self, name_or_id: str, force: bool = False) -> ImageDeletion:
        from sampan.store import maintenance

        return maintenance.remove(self, name_or_id, force)

    def prune(self, dangling_only: bool = True, keep: Iterable[str] = ()) -> list[ImageDeletion]:
        from sampan.store import maintenance

        return maintenance.prune(self, dangling_only, keep)

    def history(self, name_or_id: str) -> list[dict]:
        from sampan.store import maintenance

        return maintenance.history(self.resolve(name_or_id))

    def disk_usage(self) -> dict:
        from sampan.store import maintenance

        return maintenance.disk_usage(self)
