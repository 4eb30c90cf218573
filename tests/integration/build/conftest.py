import io
from pathlib import Path

import pytest

from sampan.build.executor import BuildOptions, build
from sampan.build.instructions.run import run_env
from sampan.build.progress import Progress
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.integration.build.runc_backend import RuncBackend


class RealHarness:
    def __init__(self, root: Path, runroot: Path, busybox_tar: Path):
        self.paths = Paths(root, runroot)
        self.paths.ensure()
        self.db = Database(self.paths.db)
        self.store = ImageStore(self.paths, self.db)
        with open(busybox_tar, "rb") as f:
            self.store.import_rootfs(f, "busybox:latest")
        self.backend = RuncBackend(self.store, root)
        self.context = root.parent / "ctx"
        self.context.mkdir()
        self.out = io.StringIO()

    def write(self, files: dict[str, str]) -> None:
        for name, content in files.items():
            p = self.context / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)

    def build(self, dockerfile: str, **kw):
        self.out = io.StringIO()
        opts = BuildOptions(dockerfile_text=dockerfile, context_dir=kw.pop("context", self.context), **kw)
        return build(self.backend, self.db, opts, Progress(self.out.write))

    def run_in(self, image_ref: str, argv: list[str]) -> tuple[int, str]:
        """Run argv in a fresh container of the built image (check from inside)."""
        info = self.store.resolve(image_ref)
        upper = self.backend.temp_dir()
        chunks: list[bytes] = []
        cfg = info.config.get("config") or {}
        code = self.backend.run(self.backend.layer_dirs(info.layers), upper, argv,
                                run_env(cfg.get("Env") or [], {}, {}), cfg.get("WorkingDir") or "/",
                                cfg.get("User") or "", "none", chunks.append)
        return code, b"".join(chunks).decode()


@pytest.fixture
def real(state_dirs, busybox_tar):
    root, runroot = state_dirs
    harness = RealHarness(root, runroot, busybox_tar)
    yield harness
    harness.db.close()
