"""Push, cold pull and re-pull of one image against a local docker-registry: sampan vs skopeo vs Docker.

Run as root from the repo:
  .venv/bin/python bench/registry_push_pull.py [--rootfs-tar debian.tar] [--layers N]
      [--runs 3] [--mib N] [--docker] [--no-push] [--repull-only]

The image is the given rootfs tar imported as one layer (e.g. a debootstrap'd Debian, see
scripts/make-debian-image), else busybox plus 2 x N MiB of random bytes (one layer);
--layers N splits that tar's entries into N layers (a docker-archive `sampan load`s). Every
tool runs as the user runs it, a fresh process per operation (sampan's CLI with
SAMPAN_NO_ZYGOTE=1, so every import is paid each time; the re-pull rows also measure the
zygote). Medians of --runs runs.

- push: every run goes to a freshly started registry, so no tool can skip a blob.
  sampan pushes from its store; skopeo copies `oci:<sampan root>:IMG` (the same compressed
  blobs); Docker pushes what `docker load` made of `sampan save` (it recompresses).
- re-pull (known image): `pull` of an image the store has under an unmoved tag (one manifest
  request; nothing downloaded or written), 5 x --runs times, sampan through its zygote and
  without (SAMPAN_NO_ZYGOTE=1), and `docker pull` of an image it has, interleaved.
- cold pull: sampan into an empty root, then the first `run --rm --network none IMG true`
  (what is left to unpack is unpacked there); "unpack" is that run minus a warm run.
  SAMPAN_LAYER_FORMAT=dir in the environment measures layers unpacked into directories
  instead of EROFS images (DESIGN.md, "Layers as EROFS images").
- rmi: the pulled image removed again (its layers deleted), by each tool. Docker: the image
  removed first (`docker rmi` by tag and id; a global `docker image prune` would delete
  other people's dangling images), then `docker pull`, which unpacks.
Docker columns appear with --docker: a private dockerd (bench/api_run.py's: its own data
root, exec root and socket in /tmp, no iptables) is started and stopped, leaving nothing.
Everything added is removed at exit. The sampan measured is this checkout's (PYTHONPATH).
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
from tests.support.leaks import release_layer_images  # noqa: E402
from tests.unit.registry.registry_server import RegistryServer  # noqa: E402

# the venv's launcher (a worktree without its own venv uses the interpreter's), with this
# checkout's code first on the path
_LAUNCHER = REPO / ".venv" / "bin" / "sampan"
SAMPAN = str(_LAUNCHER if _LAUNCHER.exists() else Path(sys.executable).parent / "sampan")
ENV = {**os.environ, "SAMPAN_NO_ZYGOTE": "1",
       "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def sh(*argv: str, stdin=None, stdout=subprocess.DEVNULL) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=ENV)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} failed: {p.stderr.decode(errors='replace')[-800:]}")
    return p


def timed(*argv: str) -> float:
    t0 = time.perf_counter()
    sh(*argv)
    return time.perf_counter() - t0


def sh_env(argv: list[str], env: dict) -> None:
    p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])} failed: {p.stderr.decode(errors='replace')[-800:]}")


def timed_env(argv: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    sh_env(argv, env)
    return time.perf_counter() - t0


def start_docker():
    """A private dockerd; the docker CLI of every later call talks to it (ENV)."""
    if subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0:
        raise SystemExit("a dockerd runs already: this bench starts its own; stop it or drop --docker")
    from api_run import Dockerd
    d = Dockerd()
    ENV.update(DOCKER_HOST=d.host, DOCKER_CONFIG=str(d.config))
    return d


def layered_archive(rootfs_tar: Path, n: int, dest: Path) -> Path:
    """A docker-archive of rootfs_tar's entries split in n layers of about equal bytes."""
    import hashlib
    import json
    src = tarfile.open(rootfs_tar)
    members = src.getmembers()
    total = sum(m.size for m in members) or 1
    groups, cur, acc = [], [], 0
    for m in members:
        cur.append(m)
        acc += m.size
        if acc >= total * (len(groups) + 1) / n and len(groups) < n - 1:
            groups.append(cur)
            cur = []
    groups.append(cur)
    diff_ids, names = [], []
    with tarfile.open(dest, "w") as out:
        for i, group in enumerate(groups):
            lt = dest.parent / f"layer{i}.tar"
            with tarfile.open(lt, "w", format=tarfile.PAX_FORMAT) as t:
                for m in group:
                    t.addfile(m, src.extractfile(m) if m.isreg() else None)
            h = hashlib.sha256()
            with open(lt, "rb") as f:
                while b := f.read(1 << 20):
                    h.update(b)
            diff_ids.append("sha256:" + h.hexdigest())
            names.append(f"{i}/layer.tar")
            out.add(lt, names[-1])
            lt.unlink()
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["bash"]},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
        for name, data in (("config.json", config), ("manifest.json", json.dumps(
                [{"Config": "config.json", "RepoTags": None, "Layers": names}]).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            out.addfile(ti, io.BytesIO(data))
    return dest


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
    def __init__(self, work: Path, runs: int, with_docker: bool, push: bool = True,
                 cold_pull: bool = True):
        self.work, self.runs, self.with_docker, self.push = work, runs, with_docker, push
        self.cold_pull = cold_pull
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
            self.record("rmi of the pulled image: sampan", dst.timed("rmi", ref))
            release_layer_images(f"{dst.root.parent}/")   # the store's layer mounts
            shutil.rmtree(dst.root.parent, ignore_errors=True)
            if self.with_docker:
                self.docker_forget(ref)
                self.docker_refs.append(ref)
                self.record("pull: docker pull (unpacks)", timed("docker", "pull", "-q", ref))
                self.record("rmi of the pulled image: docker", timed("docker", "rmi", ref))
                self.docker_forget(ref)

    # --- re-pull of a known image ---------------------------------------------------------
    def repull_runs(self) -> None:
        """`pull` of an image the store has, tag unmoved: one manifest request, nothing written.
        sampan with and without its zygote, and `docker pull` of a present image, interleaved."""
        srv = self.registry()
        ref = f"{srv.host}/bench/img:repull"
        self.src("push", self.local, ref)
        dst = Root(self.work / "repull")
        dst("pull", ref)
        zyg_env = {k: v for k, v in ENV.items() if k != "SAMPAN_NO_ZYGOTE"}
        sh_env(dst.argv("images", "-q"), zyg_env)           # starts the zygote in the background
        deadline = time.monotonic() + 20
        while not (dst.run / "zygote.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.with_docker:
            self.docker_forget(ref)
            self.docker_refs.append(ref)
            sh("docker", "pull", "-q", ref)
        try:
            for i in range(self.runs * 5 + 1):      # the first round warms caches: not counted
                secs = {"sampan pull (zygote)": timed_env(dst.argv("pull", "-q", ref), zyg_env),
                        "sampan pull (no zygote)": timed(*dst.argv("pull", "-q", ref))}
                if self.with_docker:
                    secs["docker pull"] = timed("docker", "pull", "-q", ref)
                for label, t in secs.items():
                    if i:
                        self.record(f"re-pull (known image): {label}", t)
        finally:
            subprocess.run(dst.argv("system", "zygote", "stop"), capture_output=True, env=zyg_env)
            if self.with_docker:
                self.docker_forget(ref)

    def docker_forget(self, ref: str) -> None:
        p = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, env=ENV)
        if p.returncode == 0:
            subprocess.run(["docker", "rmi", "-f", ref, p.stdout.strip()], capture_output=True, env=ENV)

    def run(self, rootfs_tar: Path, layers: int = 1) -> None:
        if layers > 1:
            archive = layered_archive(rootfs_tar, layers, self.work / "layered.tar")
            t = self.src.timed("load", "-i", archive.as_posix())
            loaded = self.src.argv("images", "-q", "--no-trunc")
            image_id = subprocess.run(loaded, capture_output=True, text=True, env=ENV).stdout.split()[0]
            self.src("tag", image_id, self.local)
            archive.unlink()
            print(f"load of {rootfs_tar.stat().st_size / 1e6:.0f} MB rootfs in {layers} layers: {t:.2f} s")
        else:
            t = self.src.timed("import", rootfs_tar.as_posix(), self.local)
            print(f"import of {rootfs_tar.stat().st_size / 1e6:.0f} MB rootfs: {t:.2f} s")
        if self.push:
            self.push_runs()
        if self.cold_pull:
            self.pull_runs()
        self.repull_runs()

    def close(self) -> None:
        for ref in self.docker_refs:
            self.docker_forget(ref)
        for s in self.servers:
            s.stop()
            s.wipe()

    def table(self) -> str:
        lines = [f"{'operation':52s} {'median':>8s}   runs (s)", "-" * 86]
        for label, vals in self.rows.items():
            digits = 3 if statistics.median(vals) < 1 else 2
            runs = " ".join(f"{v:.{digits}f}" for v in vals)
            lines.append(f"{label:52s} {statistics.median(vals):7.{digits}f}s   {runs}")
        return "\n".join(lines)


def layer_sizes(root: Path) -> str:
    blobs = sorted((p.stat().st_size for p in (root / "blobs" / "sha256").iterdir()), reverse=True)
    return ", ".join(f"{b / 1e6:.1f} MB" for b in blobs[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs-tar", type=Path, help="rootfs tar to import (default: busybox + random data)")
    ap.add_argument("--mib", type=int, default=32, help="random MiB per layer without --rootfs-tar")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--layers", type=int, default=1, help="split the rootfs in this many layers")
    ap.add_argument("--docker", action="store_true", help="beside a private dockerd of our own")
    ap.add_argument("--no-push", action="store_true", help="pull rows only")
    ap.add_argument("--repull-only", action="store_true", help="the re-pull rows only")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (docker, sampan run)")
    dockerd = start_docker() if args.docker else None
    work = Path(tempfile.mkdtemp(prefix="sampan-bench-reg-"))
    bench = Bench(work, args.runs, dockerd is not None, push=not (args.no_push or args.repull_only),
                  cold_pull=not args.repull_only)
    try:
        tar = args.rootfs_tar or random_layers_tar(work / "rootfs.tar", args.mib)
        load0 = os.getloadavg()[0]
        bench.run(tar, args.layers)
        print(f"largest blobs: {layer_sizes(bench.src.root)}; docker: {'yes' if dockerd else 'no'}; "
              f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end "
              f"({os.cpu_count()} cpus)")
        print(bench.table())
    finally:
        bench.close()
        release_layer_images(f"{work}/")
        shutil.rmtree(work, ignore_errors=True)
        if dockerd is not None:
            dockerd.stop()


if __name__ == "__main__":
    main()
