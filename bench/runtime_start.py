"""create + start + wait of `true` in a busybox bundle: native runtime vs runc (and crun).

Run as root: .venv/bin/python bench/runtime_start.py [-n 30] [--cold]
Prints the median and p90 per runtime, and delete's cost separately. --cold also
times a fresh interpreter per container (import + create + start + wait + delete),
the share of `sampan run --rm IMG true` that the runtime is responsible for.
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
from sampan.runtime.base import Stdio, become_subreaper  # noqa: E402
from sampan.runtime.factory import get_runtime  # noqa: E402
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


COLD = """
import os, sys, time
t0 = time.perf_counter()
from sampan.runtime.base import Stdio, become_subreaper
from sampan.runtime.factory import get_runtime
become_subreaper()
rt = get_runtime(sys.argv[1], sys.argv[2])
c = rt.create(sys.argv[3], sys.argv[4], Stdio())
rt.start(sys.argv[3]); os.waitpid(c.pid, 0); rt.delete(sys.argv[3])
"""


def bench_cold(name: str, base: Path, tar: Path, n: int) -> list[float]:
    import subprocess
    cid0 = "k" + token()
    bundle, _ = make_bundle(base, tar, ["true"], cid0)
    root = str(Path(__file__).resolve().parent.parent)
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD, name, str(base / f"cold-{name}"), f"{cid0}-{i}", str(bundle)],
                       check=True, cwd=root)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--cold", action="store_true", help="also time a fresh interpreter per container")
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
            if args.cold:
                cold = bench_cold(name, base, tar, args.n)
                print(f"{'':8} fresh interpreter, import+create+start+wait+delete: "
                      f"{statistics.median(cold) * 1000:.1f} ms median")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
