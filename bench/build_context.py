"""Build times for the DESIGN anchor: a 200-file context and 2 RUNs (root needed).

    .venv/bin/python bench/build_context.py [-n 5]

Prints medians (s) of: cold build (empty cache), rebuild with no change, and
rebuild after one file changed; Docker 20.10 measured 1.66 / 0.10 / 1.21 s.
`--no-adopt` shows the cost when the backend re-extracts every new layer.
Uses the real store and `runc run` over overlayfs through the test backend
(tests/integration/build/runc_backend.py) until the engine's backend lands.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sampan.build.executor import BuildOptions, build  # noqa: E402
from sampan.build.progress import Progress  # noqa: E402
from sampan.state.db import Database  # noqa: E402
from sampan.state.paths import Paths  # noqa: E402
from sampan.store import ImageStore  # noqa: E402
from tests.integration.build.runc_backend import RuncBackend  # noqa: E402
from tests.support.busybox import write_busybox_tar  # noqa: E402

DOCKERFILE = """FROM busybox
RUN echo first > /first
COPY . /app
RUN ls /app | wc -l > /count
"""


def one_round(base: Path, adopt: bool = True) -> tuple[float, float, float]:
    paths = Paths(base / "root", base / "run")
    paths.ensure()
    db = Database(paths.db)
    store = ImageStore(paths, db)
    tar = write_busybox_tar(base / "busybox.tar")
    with open(tar, "rb") as f:
        store.import_rootfs(f, "busybox:latest")
    ctx = base / "ctx"
    for i in range(200):
        p = ctx / f"dir{i % 10}" / f"file{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"content {i}\n" * 20)
    backend = RuncBackend(store, paths.root)
    backend.adopt = adopt
    opts = BuildOptions(dockerfile_text=DOCKERFILE, context_dir=ctx, tags=["bench:1"])
    times = []
    for change in (False, False, True):
        if change:
            (ctx / "dir3" / "file3.txt").write_text("changed\n")
        t0 = time.perf_counter()
        build(backend, db, opts, Progress(io.StringIO().write))
        times.append(time.perf_counter() - t0)
    db.close()
    return times[0], times[1], times[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--no-adopt", action="store_true",
                    help="re-extract each new layer instead of adopting the step's upper dir")
    args = ap.parse_args()
    n = args.n
    results = []
    for _ in range(n):
        base = Path(tempfile.mkdtemp(prefix="sampan-bench-build-"))
        try:
            results.append(one_round(base, adopt=not args.no_adopt))
        finally:
            shutil.rmtree(base, ignore_errors=True)
    names = ("cold", "no change", "one file changed")
    docker = (1.66, 0.10, 1.21)
    print(f"{'build (200 files, 2 RUNs)':28} {'sampan s':>9} {'docker 20.10 s':>15}")
    for i, name in enumerate(names):
        print(f"{name:28} {statistics.median(r[i] for r in results):9.3f} {docker[i]:15.2f}")


if __name__ == "__main__":
    main()
