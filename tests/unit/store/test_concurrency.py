import subprocess
import sys

from tests.support.leaks import mounts_under


CHILD = """
import sys
from pathlib import Path
from sampan.state.db import Database
from sampan.state.paths import Paths
from sampan.store import ImageStore
p = Paths(Path(sys.argv[1]), Path(sys.argv[2]))
s = ImageStore(p, Database(p.db))
print(s.layer_dirs(sys.argv[3])[0])
"""


def test_parallel_unpacks_of_one_layer_agree(store, busybox_tar):
    with open(busybox_tar, "rb") as f:
        info = store.import_rootfs(f, "busybox")
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(store.paths.root),
                               str(store.paths.runroot), info.id], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    dirs = {o[0].strip() for o in outs}
    assert len(dirs) == 1
    [diff] = store.layer_dirs(info)
    assert str(diff) in dirs
    assert (diff / "bin/busybox").read_bytes() == open("/bin/busybox", "rb").read()
    # unpacked once: later calls reuse the layer as it is (its completion marker is the
    # same file), and an image layer is mounted once, not once per caller
    marker = diff.parent / "complete"
    ino = marker.stat().st_ino
    assert store.layer_dirs(info) == [diff] and marker.stat().st_ino == ino
    assert len(list(store.paths.layers.iterdir())) == 1
    assert len(mounts_under(str(diff))) <= 1
