"""create + start + wait of `true` in a busybox bundle: native runtime vs runc (and crun).

Run as root: .venv/bin/python bench/runtime_start.py [-n 30]
Prints the median and p90 per runtime, and delete's cost separately.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sampan.errors import SampanError  # noqa: E402
from sampan.runtime.base import Stdio, become_subreaper, get_runtime  # noqa: E402
from tests.integration.runtime.bundle import make_bundle, token  # noqa: E402
from tests.support.busybox import write_busybox_tar  # noqa: E402


def bench(name: str, base: Path, tar: Path, n: int) -> tuple[list[float], list[float]]:
    rt = get_runtime(name, base / f"state-{name}")
    cid0 = "b" + token()
    bundle, _ = make_bundle(base, tar, ["true"], cid0)
    runs, deletes = [], []
    for i in range(n):
        cid = f"{cid0}-{i}"
        t0 = time.perf_counter()
        created = rt.create(cid, bundle, Stdio())
        rt.start(cid)
        _, status = os.waitpid(created.pid, 0)
        t1 = time.perf_counter()
        rt.delete(cid)
        t2 = time.perf_counter()
        assert os.waitstatus_to_exitcode(status) == 0
        runs.append(t1 - t0)
        deletes.append(t2 - t1)
    return runs, deletes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("runtimes", nargs="*", default=["native", "runc", "crun"])
    args = ap.parse_args()
    become_subreaper()
    base = Path(tempfile.mkdtemp(prefix="sampan-bench-"))
    try:
        tar = write_busybox_tar(base / "busybox.tar")
        print(f"{'runtime':8} {'create+start+wait':>20} {'p90':>8} {'delete':>8}   (n={args.n})")
        for name in args.runtimes:
            if name != "native" and not shutil.which(name):
                continue
            try:
                runs, deletes = bench(name, base, tar, args.n)
            except SampanError as e:
                print(f"{name:8} failed: {e}")
                continue
            p90 = sorted(runs)[int(0.9 * (len(runs) - 1))]
            print(f"{name:8} {statistics.median(runs) * 1000:17.1f} ms {p90 * 1000:5.1f} ms "
                  f"{statistics.median(deletes) * 1000:5.1f} ms")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
