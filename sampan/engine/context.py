"""The engine's shared state: paths, database, tables and stores, opened lazily."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from sampan.engine.records import ContainerRecord, ContainerTable
from sampan.errors import PermissionDenied
from sampan.state.db import Database
from sampan.state.paths import Paths


class Context:
    def __init__(self, paths: Paths, runtime: str | None = None):
        self.paths = paths
        self.default_runtime = runtime or os.environ.get("SAMPAN_RUNTIME") or "native"
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            try:
                self.paths.ensure()
            except PermissionError as e:
                raise PermissionDenied(
                    f"cannot create sampan's state at {e.filename}: run as root (sudo) or set --root/--runroot") from None
            self._db = Database(self.paths.db)
        return self._db

    @cached_property
    def containers(self) -> ContainerTable:
        return ContainerTable(self.db)

    @cached_property
    def images(self):
        from sampan.store import ImageStore
        return ImageStore(self.paths, self.db)

    @cached_property
    def volumes(self):
        from sampan.volumes import VolumeStore
        return VolumeStore(self.paths, self.db)

    def runtime_for(self, rec: ContainerRecord):
        from sampan.runtime.factory import get_runtime
        name = rec.config.get("runtime") or self.default_runtime
        return get_runtime(name, self.paths.runtime_state / name)

    def container_lock(self, cid: str):
        """The container's own lock (state.lock.file_lock): held by start and rm, discarded
        once the container is removed."""
        from sampan.state.lock import file_lock
        return file_lock(self.paths.locks / cid)

    def attach_socket(self, cid: str) -> str:
        # unix socket paths are limited to 107 bytes: keep it short.
        return str(self.paths.runroot / "a" / (cid[:16] + ".sock"))

    def container_files(self, cid: str) -> dict[str, Path]:
        d = self.paths.container_dir(cid)
        return {"dir": d, "rootfs": d / "rootfs", "init": d / "init", "upper": d / "upper", "work": d / "work",
                "config": d / "config.json", "log": d / f"{cid}-json.log",
                "hosts": d / "hosts", "hostname": d / "hostname", "resolv": d / "resolv.conf"}
