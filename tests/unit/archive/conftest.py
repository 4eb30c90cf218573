import pytest

from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore


def make_store(base) -> ImageStore:
    paths = Paths(base / "root", base / "run")
    paths.ensure()
    return ImageStore(paths, Database(paths.db))


@pytest.fixture
def stores(tmp_path):
    return make_store(tmp_path / "a"), make_store(tmp_path / "b")


@pytest.fixture
def busybox_store(stores, busybox_tar):
    a, b = stores
    with open(busybox_tar, "rb") as f:
        a.import_rootfs(f, "busybox:latest")
    a.tag("busybox:latest", "example.com/team/bb:v1")
    return a, b
