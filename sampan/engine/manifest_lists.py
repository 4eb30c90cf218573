"""`manifest create|annotate|push|rm`: manifest lists kept under the state root until pushed
(docker/cli keeps them in ~/.docker/manifests). A list is a directory named by the sha256 of
its reference (no client string becomes a path); each entry a JSON file named by the
sha256 of the image's reference, holding what the registry sent (bytes, digest, media
type) and the platform to list it under."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

from sampan.engine.context import Context
from sampan.errors import InvalidArgument, NotFound
from sampan.oci.json_indent import indent
from sampan.oci.reference import parse_reference

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def _key(ref: str) -> str:
    return hashlib.sha256(ref.encode()).hexdigest()


class ManifestLists:
    def __init__(self, ctx: Context) -> None:
        self.base: Path = ctx.paths.root / "manifests"

    def _dir(self, list_ref: str) -> Path:
        return self.base / _key(list_ref)

    def create(self, list_ref: str, refs: list[str], amend: bool, fetch) -> str:
        """``fetch(ref)``: the registry's view of ref (registry.inspect_manifest's dict)."""
        name = str(parse_reference(list_ref))
        d = self._dir(name)
        if d.exists() and not amend:
            raise InvalidArgument("refusing to amend an existing manifest list with no --amend flag")
        entries = []
        for ref in refs:
            full = str(parse_reference(ref))
            got = fetch(full)
            if got["children"] is not None:
                raise InvalidArgument(f"{full} is a manifest list")
            entries.append((full, got))
        d.mkdir(parents=True, exist_ok=True)
        (d / "list").write_text(name)
        for full, got in entries:
            old = d / f"{_key(full)}.json"
            order = json.loads(old.read_text())["order"] if old.exists() else len(list(d.glob("*.json")))
            self._write(d, full, {"order": order, "ref": full, "media_type": got["media_type"], "digest": got["digest"],
                                  "size": got["size"], "raw": base64.b64encode(got["raw"]).decode(),
                                  "platform": got["platform"]})
        return name

    def annotate(self, list_ref: str, ref: str, platform: dict) -> None:
        name, full = str(parse_reference(list_ref)), str(parse_reference(ref))
        path = self._dir(name) / f"{_key(full)}.json"
        if not path.exists():
            raise NotFound(f"No such manifest: {full}")
        entry = json.loads(path.read_text())
        current = dict(entry.get("platform") or {"architecture": "", "os": ""})
        current.update({k: v for k, v in platform.items() if v})
        entry["platform"] = {k: current[k] for k in ("architecture", "os", "os.version", "os.features", "variant")
                             if k in current}
        self._write(self._dir(name), full, entry)

    def entries(self, list_ref: str) -> list[dict]:
        d = self._dir(str(parse_reference(list_ref)))
        if not (d / "list").exists():
            raise NotFound(f"No such manifest: {parse_reference(list_ref)}")
        out = sorted((json.loads(p.read_text()) for p in d.glob("*.json")), key=lambda e: e["order"])
        for e in out:
            e["raw"] = base64.b64decode(e["raw"])
        return out

    def index(self, list_ref: str) -> tuple[bytes, str, list[dict]]:
        """Docker's manifest list for the entries (distribution's FromDescriptors: an OCI
        index when the first entry is an OCI manifest), indented as its MarshalIndent."""
        entries = self.entries(list_ref)
        kind = OCI_INDEX if entries and entries[0]["media_type"] == OCI_MANIFEST else DOCKER_LIST
        body = {"schemaVersion": 2, "mediaType": kind, "manifests": [
            {"mediaType": e["media_type"], "size": e["size"], "digest": e["digest"],
             "platform": e.get("platform") or {"architecture": "", "os": ""}} for e in entries]}
        text = indent(json.dumps(body, ensure_ascii=False, separators=(",", ":")), "   ", escape_html=True)
        return text.encode(), kind, entries

    def remove(self, list_ref: str) -> None:
        d = self._dir(str(parse_reference(list_ref)))
        if not (d / "list").exists():
            raise NotFound(f"No such manifest: {parse_reference(list_ref)}")
        shutil.rmtree(d)

    @staticmethod
    def _write(d: Path, full: str, entry: dict) -> None:
        path = d / f"{_key(full)}.json"
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, path)
