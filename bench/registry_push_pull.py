"""Push and cold pull of one image against a local docker-registry: sampan vs skopeo vs Docker.

Run as root from the repo:
  .venv/bin/python bench/registry_push_pull.py [--rootfs-tar debian.tar] [--runs 3] [--mib N]

The image is the given rootfs tar imported as one layer (e.g. a debootstrap'd Debian, see
scripts/make-debian-image), else busybox plus 2 x N MiB of random bytes (one layer). Every
tool runs as the user runs it, a fresh process per operation (sampan's CLI with
SAMPAN_NO_ZYGOTE=1, so httpx's import is paid each time). Medians of --runs runs.

- push: every run goes to a freshly started registry, so no tool can skip a blob.
  sampan pushes from its store; skopeo copies `oci:<sampan root>:IMG` (the same compressed
  blobs); Docker pushes what `docker load` made of `sampan save` (it recompresses).
- cold pull: sampan into an empty root, then the first `run --rm --network none IMG true`
  (the layers are unpacked there); "unpack" is that run minus a warm run. Docker: the image
  removed first (`docker rmi` by tag and id; a global `docker image prune` would delete
  other people's dangling images), then `docker pull`, which unpacks.
Docker columns appear only when `docker info` works. Everything added is removed at exit.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.busybox import write_busybox_tar  # noqa: E402
from tests.unit.registry.registry_server import RegistryServer  # noqa: E402

SAMPAN = str(REPO / ".venv" / "bin" / "sampan")
ENV = {**os.environ, "SAMPAN_NO_ZYGOTE": "1"}


def sh(*argv: str, stdin=None, stdout=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=ENV)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} failed: {p.stderr.decode(errors='replace')[-800:]}")
    return p


def timed(*argv: str) -> float:
    t0 = time.perf_counter()
    sh(*argv)
    return time.perf_counter() - t0


def docker_works() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Root:
    """A private sampan root/runroot pair driven through the CLI."""

    def __init__(self, base: Path):
        self.root, self.run = base / "root", base / "run"

    def argv(self, *args: str) -> list[str]:
        return [SAMPAN, "--root", str(self.root), "--runroot", str(self.run), *args]

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return sh(*self.argv(*args))

    def timed(self, *args: str) -> float:
        return timed(*self.argv(*args))


def random_layers_tar(dest: Path, mib: int) -> Path:
    """busybox + N MiB of incompressible bytes in one rootfs tar."""
    write_busybox_tar(dest)
    with tarfile.open(dest, "a") as t:
        for i in range(2):
            ti = tarfile.TarInfo(f"data-{i}.bin")
            ti.size = mib << 20
            t.addfile(ti, io.BytesIO(os.urandom(ti.size)))
    return dest


class Bench:
    def __init__(self, work: Path, runs: int, with_docker: bool):
        self.work, self.runs, self.with_docker = work, runs, with_docker
        self.tok = secrets.token_hex(3)
        self.local = f"sampan-bench-{self.tok}/img:1"
        self.src = Root(work / "src")
        self.servers: list[RegistryServer] = []
        self.docker_refs: list[str] = []
        self.rows: dict[str, list[float]] = {}

    def registry(self) -> RegistryServer:
        srv = RegistryServer(self.work / f"reg{len(self.servers)}").start()
        self.servers.append(srv)
        return srv

    def drop_registry(self, srv: RegistryServer) -> None:
        srv.stop()
        srv.wipe()

    def record(self, label: str, secs: float) -> None:
        self.rows.setdefault(label, []).append(secs)

    # --- push ---------------------------------------------------------------------
    def push_runs(self) -> None:
        oci = f"oci:{self.src.root}:{self.local}"
        if self.with_docker:
            save = subprocess.Popen(self.src.argv("save", self.local), stdout=subprocess.PIPE, env=ENV)
            sh("docker", "load", "-q", stdin=save.stdout)
            if save.wait() != 0:
                raise SystemExit("sampan save failed")
            self.docker_refs.append(self.local)
        for i in range(self.runs):
            for tool in ("sampan", "skopeo", "docker"):
                if tool == "docker" and not self.with_docker:
                    continue
                srv = self.registry()
                dest = f"{srv.host}/bench/img:{i}"
                if tool == "sampan":
                    secs = self.src.timed("push", self.local, dest)
                elif tool == "skopeo":
                    secs = timed("skopeo", "copy", "-q", "--dest-tls-verify=false", oci, f"docker://{dest}")
                else:
                    sh("docker", "tag", self.local, dest)
                    secs = timed("docker", "push", "-q", dest)
                    sh("docker", "rmi", dest)
                self.record(f"push (cold registry): {tool}", secs)
                self.drop_registry(srv)

    # --- pull ---------------------------------------------------------------------
    def pull_runs(self) -> None:
        srv = self.registry()
        ref = f"{srv.host}/bench/img:pull"
        self.src("push", self.local, ref)
        if self.with_docker:   # its layer would let `docker pull` skip the download
            self.docker_forget(self.local)
        for i in range(self.runs):
            dst = Root(self.work / f"pull{i}")
            t_pull = dst.timed("pull", ref)
            t_first = dst.timed("run", "--rm", "--network", "none", ref, "true")
            t_warm = dst.timed("run", "--rm", "--network", "none", ref, "true")
            self.record("pull: sampan pull", t_pull)
            self.record("pull: sampan unpack (1st run - warm run)", t_first - t_warm)
            self.record("pull: sampan pull + unpack", t_pull + t_first - t_warm)
            self.record("pull: sampan pull + 1st run", t_pull + t_first)
            shutil.rmtree(dst.root.parent, ignore_errors=True)
            if self.with_docker:
                self.docker_forget(ref)
                self.docker_refs.append(ref)
                self.record("pull: docker pull (unpacks)", timed("docker", "pull", "-q", ref))
                self.docker_forget(ref)

    def docker_forget(self, ref: str) -> None:
        p = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True)
        if p.returncode == 0:
            subprocess.run(["docker", "rmi", "-f", ref, p.stdout.strip()], capture_output=True)

    def run(self, rootfs_tar: Path) -> None:
        t = self.src.timed("import", rootfs_tar.as_posix(), self.local)
        print(f"import of {rootfs_tar.stat().st_size / 1e6:.0f} MB rootfs: {t:.2f} s")
        self.push_runs()
        self.pull_runs()

    def close(self) -> None:
        for ref in self.docker_refs:
            self.docker_forget(ref)
        for s in self.servers:
            s.stop()
            s.wipe()

    def table(self) -> str:
        lines = [f"{'operation':46s} {'median':>8s}   runs (s)", "-" * 80]
        for label, vals in self.rows.items():
            runs = " ".join(f"{v:.2f}" for v in vals)
            lines.append(f"{label:46s} {statistics.median(vals):7.2f}s   {runs}")
        return "\n".join(lines)


def layer_sizes(root: Path) -> str:
    blobs = sorted((p.stat().st_size for p in (root / "blobs" / "sha256").iterdir()), reverse=True)
    return ", ".join(f"{b / 1e6:.1f} MB" for b in blobs[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs-tar", type=Path, help="rootfs tar to import (default: busybox + random data)")
    ap.add_argument("--mib", type=int, default=32, help="random MiB per layer without --rootfs-tar")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-docker", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (docker, sampan run)")
    with_docker = not args.no_docker and docker_works()
    work = Path(tempfile.mkdtemp(prefix="sampan-bench-reg-"))
    bench = Bench(work, args.runs, with_docker)
    try:
        tar = args.rootfs_tar or random_layers_tar(work / "rootfs.tar", args.mib)
        bench.run(tar)
        print(f"largest blobs: {layer_sizes(bench.src.root)}; docker: {'yes' if with_docker else 'no'}")
        print(bench.table())
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
