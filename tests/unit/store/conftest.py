import os

import pytest

from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.support import leaks


@pytest.fixture
def store(tmp_path):
    # tmp_path rather than state_dirs: the store touches no host-wide state, and the
    # host-wide leak checks would blame us for other suites' veths running in parallel
    paths = Paths(tmp_path / "root", tmp_path / "run")
    db = Database(paths.db)
    yield ImageStore(paths, db)
    db.close()
    leaks.release_layer_images(str(tmp_path))


def tree_files(path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        out += [os.path.relpath(os.path.join(dirpath, n), path) for n in filenames + dirnames]
    return sorted(out)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, trusted xattrs)")
