"""The OCI image layout files at the store root: ``oci-layout`` and ``index.json``.

index.json is regenerated from the database after every tag change, under a
lock and atomically, so ``skopeo``/``umoci`` always see a consistent layout.
Each tag appears with ``org.opencontainers.image.ref.name`` set to the full
reference (``docker.io/library/busybox:latest``) and, where it differs, once
more with the short form Docker shows (``busybox:latest``): skopeo's
``oci:ROOT:NAME`` matches that annotation exactly, so both spellings work.
Untagged images are listed without a name so layout garbage collectors
(``umoci gc``) keep their blobs.
"""

from __future__ import annotations

import json

from sampan.oci.image import ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME, OCI_INDEX
from sampan.oci.reference import parse_reference
from sampan.state.atomic import atomic_write_bytes
from sampan.state.lock import file_lock
from sampan.state.paths import Paths
from sampan.store.catalog import Catalog

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


def ensure_layout_file(paths: Paths) -> None:
    if not paths.oci_layout.exists():
        atomic_write_bytes(paths.oci_layout, OCI_LAYOUT)


def build_index(catalog: Catalog) -> dict:
    manifests = []
    for row in catalog.tags_for_index():
        base = {"mediaType": row["manifest_media_type"], "digest": row["manifest_digest"],
                "size": row["manifest_size"]}
        ref = row["ref"]
        if ref is None:
            manifests.append(base)
            continue
        manifests.append({**base, "annotations": {ANNOTATION_REF_NAME: ref,
                                                  ANNOTATION_CONTAINERD_NAME: ref}})
        short = parse_reference(ref).familiar()
        if short != ref:
            manifests.append({**base, "annotations": {ANNOTATION_REF_NAME: short}})
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}


def write_index(paths: Paths, catalog: Catalog) -> None:
    with file_lock(paths.locks / "index.lock"):
        # read the DB under the lock: the last writer always writes the newest state
        data = json.dumps(build_index(catalog), indent=None, separators=(",", ":")).encode()
        ensure_layout_file(paths)
        atomic_write_bytes(paths.index_json, data)
