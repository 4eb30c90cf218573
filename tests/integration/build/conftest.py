import io
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from sampan.build.executor import BuildOptions, build
from sampan.build.instructions.run import run_env
from sampan.build.progress import Progress
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.integration.build.runc_backend import RuncBackend
from tests.support import leaks


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
def real(busybox_tar):
    """Private state dirs and a leak check limited to what a build creates (mounts under
    the test's dir, runc containers and their cgroups, processes). Host-wide lists such as
    veths or iptables rules are left out: other workers' network tests change them."""
    base = Path(tempfile.mkdtemp(prefix="sampan-test-build-"))
    harness = RealHarness(base / "root", base / "run", busybox_tar)
    try:
        yield harness
    finally:
        harness.db.close()
        leaks.release_layer_images(str(base))
        problems = {
            "mounts": leaks.mounts_under(str(base)),
            "processes": leaks.processes_with(str(base)),
            "cgroups": [c for cid in harness.backend.container_ids for c in leaks.cgroups_named(cid)],
            "runc containers": sorted(os.listdir(harness.backend.runc_state))
            if harness.backend.runc_state.exists() else [],
        }
        shutil.rmtree(base, ignore_errors=True)
        problems = {k: v for k, v in problems.items() if v}
        assert not problems, f"build test leaked host state: {problems}"
