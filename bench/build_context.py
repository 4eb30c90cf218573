"""Build times for the DESIGN anchor: a 200-file context and 2 RUNs (root needed).

    .venv/bin/python bench/build_context.py [-n 5] [--network none|default]

Times the real `sampan build` command (interpreter start included, as `docker
build` is timed) on a private root: a cold build (empty cache), a rebuild with
no change, and a rebuild after one file changed. Docker 20.10 measured 1.66 /
0.10 / 1.21 s on these machines.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.busybox import write_busybox_tar  # noqa: E402

DOCKERFILE = """FROM busybox
RUN echo first > /first
COPY . /app
RUN ls /app | wc -l > /count
"""


def one_round(base: Path, network: str) -> tuple[float, float, float]:
    sampan = [sys.executable, "-m", "sampan", "--root", str(base / "root"), "--runroot", str(base / "run")]
    tar = write_busybox_tar(base / "busybox.tar")
    subprocess.run(sampan + ["import", str(tar), "busybox"], check=True, capture_output=True)
    ctx = base / "ctx"
    for i in range(200):
        p = ctx / f"dir{i % 10}" / f"file{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"content {i}\n" * 20)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    times = []
    for change in (False, False, True):
        if change:
            (ctx / "dir3" / "file3.txt").write_text("changed\n")
        t0 = time.perf_counter()
        subprocess.run(sampan + ["build", "-q", "--network", network, "-t", "bench:1", str(ctx)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    # leave no containers or networks behind: the root goes away with its state
    subprocess.run(sampan + ["system", "prune", "-f"], capture_output=True)
    return times[0], times[1], times[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--network", default="none", help="network for RUN steps (none avoids CNI cost)")
    args = ap.parse_args()
    results = []
    for _ in range(args.n):
        base = Path(tempfile.mkdtemp(prefix="sampan-bench-build-"))
        try:
            results.append(one_round(base, args.network))
        finally:
            shutil.rmtree(base, ignore_errors=True)
    names = ("cold", "no change", "one file changed")
    docker = (1.66, 0.10, 1.21)
    print(f"{'sampan build (200 files, 2 RUNs)':34} {'sampan s':>9} {'docker 20.10 s':>15}")
    for i, name in enumerate(names):
        print(f"{name:34} {statistics.median(r[i] for r in results):9.3f} {docker[i]:15.2f}")


if __name__ == "__main__":
    main()
