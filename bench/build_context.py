#!/usr/bin/env python3
"""Build times: a 200-file context and 2 RUN steps - cold (empty cache), no change (all
cached), one file changed - through the real `sampan build` command (interpreter start
included), side by side with `docker build` when a Docker daemon runs. Asserts nothing.

    .venv/bin/python bench/build_context.py [-n 3] [--network default|none]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

from common import SampanBench, docker_available, docker_import_busybox, env_note

DOCKERFILE = """FROM {base}
RUN echo first > /first
COPY . /app
RUN ls /app | wc -l > /count
"""


def make_context(ctx: Path, base: str) -> None:
    for i in range(200):
        p = ctx / f"dir{i % 10}" / f"file{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"content {i}\n" * 20)
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))


def three_builds(build_argv, ctx: Path) -> tuple[float, float, float]:
    times = []
    for change in (False, False, True):
        if change:
            (ctx / "dir3" / "file3.txt").write_text(f"changed {time.time()}\n")
        t0 = time.perf_counter()
        subprocess.run(build_argv + [str(ctx)], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times[0], times[1], times[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=3)
    ap.add_argument("--network", default="default", help="network for RUN steps")
    ns = ap.parse_args()
    sampan_runs, docker_runs = [], []
    for _ in range(ns.n):
        b = SampanBench()
        try:
            tar = b.import_busybox()
            b.run("run", "--rm", "busybox", "true")  # starts the zygote, as a user's earlier command would
            b.wait_for_zygote()
            ctx = b.base / "ctx"
            make_context(ctx, "busybox")
            sampan_runs.append(three_builds(b.argv("build", "-q", "--network", ns.network, "-t", "bench:1"), ctx))
            if docker_available():
                docker_import_busybox(tar)
                dctx = b.base / "dctx"
                make_context(dctx, "sampan-bench-busybox")
                net = "default" if ns.network in ("default", "bridge") else ns.network
                docker_runs.append(three_builds(["docker", "build", "-q", "--network", net,
                                                 "-t", "sampan-bench-build:1"], dctx))
                subprocess.run(["docker", "rmi", "-f", "sampan-bench-build:1"], capture_output=True)
                subprocess.run(["docker", "builder", "prune", "-af"], capture_output=True)
        finally:
            b.close()
    print(f"build, 200-file context, 2 RUNs, median of {ns.n} ({env_note()})")
    print(f"  {'':18} {'sampan s':>9} {'docker s':>9}")
    for i, name in enumerate(("cold", "no change", "one file changed")):
        s = statistics.median(r[i] for r in sampan_runs)
        d = statistics.median(r[i] for r in docker_runs) if docker_runs else float("nan")
        print(f"  {name:18} {s:9.3f} {d:9.3f}")


if __name__ == "__main__":
    main()
