import io
from pathlib import Path

import pytest

from sampan.build.executor import BuildOptions, build
from sampan.build.progress import Progress
from sampan.state.db import Database
from tests.unit.build.fakes import FakeBackend


class Harness:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.backend = FakeBackend(tmp / "store")
        (tmp / "store").mkdir()
        self.db = Database(tmp / "sampan.db")
        self.context = tmp / "ctx"
        self.context.mkdir()
        self.backend.add_image("busybox", {"bin/sh": "sh", "etc/passwd":
                                           "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
                                           "etc/group": "root:x:0:\nstaff:x:50:\napp:x:1001:\n"})
        self.out = io.StringIO()

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            p = self.context / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content.encode() if isinstance(content, str) else content)

    def build(self, dockerfile: str, **kw):
        self.out = io.StringIO()
        opts = BuildOptions(dockerfile_text=dockerfile, context_dir=kw.pop("context", self.context), **kw)
        return build(self.backend, self.db, opts, Progress(self.out.write))

    def files(self, result) -> dict[str, Path]:
        """Merged view of the built image: path -> host file (top layer wins)."""
        seen: dict[str, Path] = {}
        for layer in reversed(result.image.layers):
            d = self.backend.layer_path(layer)
            for p in sorted(d.rglob("*")):
                rel = "/" + str(p.relative_to(d))
                seen.setdefault(rel, p)
        return seen


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.db.close()
