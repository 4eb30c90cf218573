import subprocess

import pytest

from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
from tests.support.leaks import mounts_under, release_layer_images


@pytest.fixture
def store(tmp_path):
    """A store in tmp_path; fails the test if it leaves a mount under tmp_path."""
    paths = Paths(tmp_path / "root", tmp_path / "run")
    db = Database(paths.db)
    yield ImageStore(paths, db)
    db.close()
    release_layer_images(str(tmp_path))
    left = mounts_under(str(tmp_path))
    for m in reversed(left):
        subprocess.run(["umount", "-l", m], check=False)
    assert not left, f"test leaked mounts: {left}"
