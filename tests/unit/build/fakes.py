"""A fake BuildBackend: layers are plain dirs under tmp_path, RUN executes nothing.

`run` records each call and may apply a scripted effect (write files into the
upper dir, return an exit code, emit output), so tests see what the builder
asked for without a kernel.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sampan.errors import ImageNotFound


@dataclass(frozen=True)
class FakeLayer:
    id: str


@dataclass
class FakeImage:
    id: str
    repo_tags: list[str]
    config: dict
    layers: list
    history: list


@dataclass
class RunCall:
    argv: list[str]
    env: list[str]
    cwd: str
    user: str
    network: str
    lowers: list[Path]


Effect = Callable[[RunCall, Path, Callable[[bytes], None]], int]


@dataclass
class FakeBackend:
    base: Path
    images: dict[str, tuple[str, dict, list]] = field(default_factory=dict)
    layers: dict[str, Path] = field(default_factory=dict)
    runs: list[RunCall] = field(default_factory=list)
    written: list[FakeImage] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    effect: Effect | None = None
    _counter: itertools.count = field(default_factory=itertools.count)

    # --- helpers for tests ---
    def add_image(self, ref: str, files: dict[str, bytes | str] | None = None,
                  config: dict | None = None) -> str:
        layers = []
        if files:
            d = self.base / f"img-{next(self._counter)}"
            d.mkdir(parents=True)
            for name, content in files.items():
                p = d / name.lstrip("/")
                p.parent.mkdir(parents=True, exist_ok=True)
                if name.endswith("/"):
                    p.mkdir(exist_ok=True)
                else:
                    p.write_bytes(content.encode() if isinstance(content, str) else content)
            layer = FakeLayer("layer-" + d.name)
            self.layers[layer.id] = d
            layers.append(layer)
        cfg = {"architecture": "amd64", "os": "linux", "config": dict(config or {}),
               "rootfs": {"type": "layers", "diff_ids": []}, "history": [{"created_by": "base"}]}
        unique = f"{ref}{next(self._counter)}{json.dumps(cfg)}"
        image_id = "sha256:" + hashlib.sha256(unique.encode()).hexdigest()
        self.images[ref] = (image_id, cfg, layers)
        self.images[image_id] = self.images[ref]
        return image_id

    def layer_path(self, layer: FakeLayer) -> Path:
        return self.layers[layer.id]

    # --- the Protocol ---
    def base_image(self, ref: str):
        if ref not in self.images:
            raise ImageNotFound(f"No such image: {ref}")
        image_id, cfg, layers = self.images[ref]
        return image_id, json.loads(json.dumps(cfg)), list(layers)

    def layer_dirs(self, layers: list) -> list[Path]:
        return [self.layers[l.id] for l in reversed(layers)]

    def run(self, lowers, upper, argv, env, cwd, user, network, output) -> int:
        call = RunCall(list(argv), list(env), cwd, user, network, list(lowers))
        self.runs.append(call)
        if self.effect is not None:
            return self.effect(call, upper, output)
        return 0

    def add_layer_from_dir(self, upper: Path):
        if not any(upper.iterdir()):
            return None
        d = self.base / f"layer-{next(self._counter)}"
        shutil.copytree(upper, d, symlinks=True)
        for src in [upper, *upper.rglob("*")]:  # copytree drops owners; a real store keeps them
            st = src.lstat()
            dst = d / src.relative_to(upper)
            if os.geteuid() == 0:
                os.lchown(dst, st.st_uid, st.st_gid)
            if not src.is_symlink():
                os.chmod(dst, st.st_mode & 0o7777)  # chown cleared setuid bits
        layer = FakeLayer(d.name)
        self.layers[layer.id] = d
        return layer

    def write_image(self, config: dict, layers: list, ref: str | None, history: list[dict]):
        blob = json.dumps([config, [l.id for l in layers], history], sort_keys=True)
        img = FakeImage("sha256:" + hashlib.sha256(blob.encode()).hexdigest(),
                        [ref] if ref else [], config, list(layers), list(history))
        self.written.append(img)
        if ref:
            self.tags[ref] = img.id
        return img

    def tag(self, image_id: str, ref: str) -> None:
        self.tags[ref] = image_id

    def temp_dir(self) -> Path:
        d = self.base / f"tmp-{next(self._counter)}"
        d.mkdir(parents=True)
        return d

    def layer_to_json(self, layer: FakeLayer) -> dict:
        return {"id": layer.id}

    def layer_from_json(self, data: dict):
        return FakeLayer(data["id"]) if data["id"] in self.layers else None
