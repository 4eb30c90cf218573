"""Push/pull time of one image against a local docker-registry: sampan vs skopeo.

Run as root from the repo: `.venv/bin/python bench/registry_push_pull.py [--mib N]`.
The image is busybox plus two layers of N MiB of random bytes (incompressible, so the
network path and hashing dominate). sampan is timed in-process (its first call includes
importing httpx, ~0.2 s); skopeo as a subprocess. Each cold push goes to a fresh
registry so neither tool can skip blobs.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sampan.state.db import Database  # noqa: E402
from sampan.state.paths import Paths  # noqa: E402
from sampan.store import ImageStore  # noqa: E402
from tests.support.busybox import write_busybox_tar  # noqa: E402
from tests.unit.registry.registry_server import RegistryServer  # noqa: E402


def store_at(base: Path) -> ImageStore:
    paths = Paths(base / "root", base / "run")
    paths.ensure()
    return ImageStore(paths, Database(paths.db))


def random_layer(mib: int) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo(f"data-{os.urandom(4).hex()}.bin")
        ti.size = mib << 20
        t.addfile(ti, io.BytesIO(os.urandom(ti.size)))
    buf.seek(0)
    return buf


def timed(label: str, fn, results: list) -> None:
    t0 = time.perf_counter()
    fn()
    results.append((label, time.perf_counter() - t0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=32)
    args = ap.parse_args()
    from sampan.registry import pull, push

    work = Path(tempfile.mkdtemp(prefix="sampan-bench-reg-"))
    servers = []
    try:
        src = store_at(work / "src")
        with open(write_busybox_tar(work / "bb.tar"), "rb") as f:
            base = src.import_rootfs(f, "busybox:latest")
        layers = list(base.layers) + [src.add_layer_from_tar(random_layer(args.mib)) for _ in range(2)]
        src.write_image(base.config, layers, "bench/img:1")
        total = sum(l.size for l in layers)

        r1 = RegistryServer(work / "r1").start(); servers.append(r1)
        r2 = RegistryServer(work / "r2").start(); servers.append(r2)
        res: list[tuple[str, float]] = []
        ref1 = f"{r1.host}/bench/img:1"
        timed("sampan push (cold)", lambda: push(src, "bench/img:1", ref1, progress=False), res)
        timed("sampan push (all blobs present)", lambda: push(src, "bench/img:1", ref1, progress=False), res)
        dst = store_at(work / "dst")
        timed("sampan pull (empty store)", lambda: pull(dst, ref1, progress=False), res)
        timed("sampan pull (all blobs present)", lambda: pull(dst, ref1, progress=False), res)

        sk = lambda *a: subprocess.run(["skopeo", "copy", "-q", *a], check=True)  # noqa: E731
        oci = work / "oci"
        timed("skopeo pull (docker:// -> oci:)",
              lambda: sk("--src-tls-verify=false", f"docker://{ref1}", f"oci:{oci}:img"), res)
        ref2 = f"{r2.host}/bench/img:1"
        timed("skopeo push (cold)", lambda: sk("--dest-tls-verify=false", f"oci:{oci}:img", f"docker://{ref2}"), res)
        timed("skopeo push (all blobs present)",
              lambda: sk("--dest-tls-verify=false", f"oci:{oci}:img", f"docker://{ref2}"), res)

        print(f"image: {len(layers)} layers, {total / (1 << 20):.1f} MiB compressed")
        for label, secs in res:
            print(f"  {label:36s} {secs:7.3f} s")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
