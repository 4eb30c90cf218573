#!/usr/bin/env python3
"""Build times beside Docker's, with a dockerd of the bench's own: cold (empty cache), fully
cached rebuild, one context file changed. The same 200-file context and Dockerfile (2 RUN
steps, a COPY) as build_context.py, RUN steps on --network none (the classic builder's
cost without CNI), rounds of sampan and Docker interleaved, medians. Asserts nothing.

    .venv/bin/python bench/build_cache.py [-n 5] [--no-docker] [--buildkit]

Docker: Debian's docker 20.10 CLI with DOCKER_BUILDKIT=0 (the classic builder; with
--buildkit also BuildKit), against a private dockerd started here on a temporary
--data-root/--exec-root/socket, with --iptables=false; it is stopped afterwards and the
machine checked to be as found (api_run.py's Dockerd does both).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from build_context import make_context  # noqa: E402
from common import SampanBench, env_note  # noqa: E402

KINDS = ("cold", "no change", "one file changed")


def three(argv: list[str], ctx: Path, env: dict | None = None) -> tuple[float, ...]:
    times = []
    for change in (False, False, True):
        if change:
            (ctx / "dir3" / "file3.txt").write_text(f"changed {time.time()}\n")
        t0 = time.perf_counter()
        p = subprocess.run(argv + [str(ctx)], capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"{argv[0]} build failed: {p.stderr.decode(errors='replace')[-400:]}")
    return tuple(times)


def sampan_round(base_tar_dir: Path) -> tuple[float, ...]:
    b = SampanBench()
    try:
        b.import_busybox()
        b.run("run", "--rm", "--network=none", "busybox", "true")  # a zygote, as a user's earlier command
        b.wait_for_zygote()
        ctx = b.base / "ctx"
        make_context(ctx, "busybox")
        return three(b.argv("build", "-q", "--network=none", "-t", "bench:1"), ctx)
    finally:
        b.close()


def docker_round(d, buildkit: bool) -> tuple[float, ...]:
    import tempfile
    ctx = Path(tempfile.mkdtemp(prefix="sbd-ctx-"))
    try:
        make_context(ctx / "c", "busybox")
        env = dict(os.environ, DOCKER_HOST=d.host, DOCKER_CONFIG=str(d.config),
                   DOCKER_BUILDKIT="1" if buildkit else "0")
        from api_run import CLI
        return three([CLI, "build", "-q", "--network=none", "-t", "sampan-bench-build:1"], ctx / "c", env)
    finally:
        # every image but the base: the classic builder's cache is its intermediate images,
        # and the image a changed build replaced is left untagged with its parents
        keep = d.docker("images", "-q", "--no-trunc", "busybox").stdout.split()
        others = [i for i in d.docker("images", "-aq", "--no-trunc").stdout.split() if i not in keep]
        if others:
            d.docker("rmi", "-f", *others)
        d.docker("builder", "prune", "-af")
        shutil.rmtree(ctx, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5)
    ap.add_argument("--no-docker", action="store_true")
    ap.add_argument("--buildkit", action="store_true", help="also Docker's BuildKit")
    ns = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("build_cache: run as root")
    with_docker = not ns.no_docker and shutil.which("dockerd") is not None
    if with_docker and subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0:
        print("a dockerd runs already: not starting another", file=sys.stderr)
        with_docker = False
    rows: dict[str, list[tuple[float, ...]]] = {"sampan": []}
    d = None
    before = None
    if with_docker:
        from api_run import left_behind, snapshot, start_dockerd
        before = snapshot()
        d, _ = start_dockerd()
        rows["docker classic"] = []
        if ns.buildkit:
            rows["docker buildkit"] = []
    try:
        for _ in range(ns.n):
            rows["sampan"].append(sampan_round(Path()))
            if d is not None:
                rows["docker classic"].append(docker_round(d, False))
                if ns.buildkit:
                    rows["docker buildkit"].append(docker_round(d, True))
    finally:
        if d is not None:
            d.stop()
    print(f"build, 200-file context, COPY + 2 RUNs (--network none), median of {ns.n} ({env_note()})")
    names = list(rows)
    print(f"  {'':18}" + "".join(f" {n:>16}" for n in names))
    for i, kind in enumerate(KINDS):
        cells = "".join(f" {statistics.median(r[i] for r in rows[n]) * 1000:13.0f} ms" for n in names)
        print(f"  {kind:18}{cells}")
    if before is not None:
        problems = left_behind(before, snapshot())
        print("machine as found after dockerd: " + ("yes" if not problems else "NO: " + "; ".join(problems)))


if __name__ == "__main__":
    main()
