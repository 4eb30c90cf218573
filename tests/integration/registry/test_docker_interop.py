"""Real peers that run containers: Docker 20.10 (its daemon) and containerd's `ctr`.

Images move both ways through a local docker-registry and through archives, and each
side RUNS what the other made (the output comes from inside the container). Skipped with
a reason when no Docker daemon answers (CI) or ctr cannot reach a containerd.
Everything added to Docker/containerd is removed at the end of each test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPAN = str(REPO / ".venv" / "bin" / "sampan")
CONTAINERD_SOCKETS = ("/run/containerd/containerd.sock", "/run/docker/containerd/containerd.sock")


def _docker_works() -> str | None:
    if not shutil.which("docker"):
        return "docker CLI not installed"
    try:
        p = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "`docker info` timed out"
    return None if p.returncode == 0 else "no Docker daemon (`docker info` failed)"


_NO_DOCKER = _docker_works()
needs_docker = pytest.mark.skipif(_NO_DOCKER is not None, reason=str(_NO_DOCKER))


def _containerd_socket() -> str | None:
    if not shutil.which("ctr"):
        return None
    for sock in CONTAINERD_SOCKETS:
        if os.path.exists(sock) and subprocess.run(
                ["ctr", "-a", sock, "--timeout", "5s", "version"], capture_output=True).returncode == 0:
            return sock
    return None


def run(*argv: str, input: bytes | None = None, timeout: int = 120) -> str:
    p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"{' '.join(argv)} -> {p.returncode}: {p.stderr.decode(errors='replace')[-1500:]}"
    return p.stdout.decode(errors="replace")


class Sampan:
    def __init__(self, root: Path, runroot: Path):
        self.root, self.runroot = root, runroot

    def __call__(self, *args: str, **kw) -> str:
        return run(SAMPAN, "--root", str(self.root), "--runroot", str(self.runroot), *args, **kw)


class DockerJanitor:
    """Remembers what a test adds to Docker and removes it (containers, then images)."""

    def __init__(self):
        self.images: list[str] = []
        self.containers: list[str] = []

    def image(self, ref: str) -> str:
        self.images.append(ref)
        return ref

    def cleanup(self) -> None:
        if self.containers:
            subprocess.run(["docker", "rm", "-f", *self.containers], capture_output=True)
        ids = set()
        for ref in self.images:
            p = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref],
                               capture_output=True, text=True)
            if p.returncode == 0:
                ids.add(p.stdout.strip())
        if self.images:
            subprocess.run(["docker", "rmi", "-f", *self.images], capture_output=True)
        if ids:   # an id some untagged leftover still names
            subprocess.run(["docker", "rmi", "-f", *ids], capture_output=True)


@pytest.fixture
def docker():
    j = DockerJanitor()
    yield j
    j.cleanup()


@pytest.fixture
def sampan(state_dirs, busybox_tar):
    s = Sampan(*state_dirs)
    s.tok = secrets.token_hex(4)
    s.local = f"sampan-it-{s.tok}/bb:1"
    s("import", "--change", 'CMD ["sh"]', str(busybox_tar), s.local)
    return s


@needs_docker
def test_docker_pulls_and_runs_what_sampan_pushed(registry, sampan, docker):
    ref = docker.image(f"{registry.host}/interop/bb-{sampan.tok}:1")
    sampan("push", sampan.local, ref)
    run("docker", "pull", "-q", ref)
    out = run("docker", "run", "--rm", "--network", "none", ref, "sh", "-c", f"echo from-docker-{sampan.tok}")
    assert out.strip() == f"from-docker-{sampan.tok}"
    # Docker's record of the image: the layer it unpacked is the one sampan made
    diff_ids = run("docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", ref)
    assert sampan("image", "inspect", "-f", "{{json .RootFS.Layers}}", sampan.local).strip() == diff_ids.strip()


@needs_docker
def test_docker_loads_and_runs_sampan_save(sampan, docker, tmp_path):
    archive = tmp_path / "saved.tar"
    sampan("save", "-o", str(archive), sampan.local)
    out = run("docker", "load", "-i", str(archive))
    docker.image(sampan.local)
    assert f"Loaded image: {sampan.local}" in out
    got = run("docker", "run", "--rm", "--network", "none", sampan.local, "cat", "/etc/passwd")
    assert got.startswith("root:x:0:0:")


@needs_docker
def test_sampan_loads_and_runs_docker_save(sampan, docker, tmp_path):
    """A two-layer image Docker made itself (run + commit), saved by `docker save` in its
    classic layer-directory format, loads into sampan and runs there."""
    run("docker", "load", "-i", str(_saved(sampan, tmp_path)))
    docker.image(sampan.local)
    name = f"sampan-it-{sampan.tok}-c"
    docker.containers.append(name)
    run("docker", "run", "--name", name, "--network", "none", sampan.local,
        "sh", "-c", f"echo made-by-docker-{sampan.tok} > /marker && rm /etc/group")
    committed = docker.image(f"sampan-it-{sampan.tok}/committed:1")
    run("docker", "commit", "-c", 'CMD ["cat", "/marker"]', name, committed)
    archive = tmp_path / "docker-saved.tar"
    run("docker", "save", "-o", str(archive), committed)
    loaded = sampan("load", "-i", str(archive))
    assert committed in loaded
    # CMD from Docker's config, the marker from Docker's layer, the whiteout applied
    out = sampan("run", "--rm", "--network", "none", committed)
    assert out.strip() == f"made-by-docker-{sampan.tok}"
    out = sampan("run", "--rm", "--network", "none", committed, "sh", "-c",
                 "test -e /etc/group && echo present || echo gone")
    assert out.strip() == "gone"


@needs_docker
def test_sampan_pulls_and_runs_what_docker_pushed(registry, sampan, docker, tmp_path):
    """Docker's own push: Docker schema2 media types, layers Docker compressed itself."""
    run("docker", "load", "-i", str(_saved(sampan, tmp_path)))
    docker.image(sampan.local)
    ref = docker.image(f"{registry.host}/interop/from-docker-{sampan.tok}:2")
    run("docker", "tag", sampan.local, ref)
    run("docker", "push", "-q", ref)
    fresh = Sampan(sampan.root.parent / "root2", sampan.runroot.parent / "run2")
    try:
        fresh("pull", ref)
        out = fresh("run", "--rm", "--network", "none", ref, "sh", "-c", f"echo pulled-{sampan.tok}")
        assert out.strip() == f"pulled-{sampan.tok}"
    finally:
        shutil.rmtree(fresh.root, ignore_errors=True)
        shutil.rmtree(fresh.runroot, ignore_errors=True)


def test_containerd_pulls_and_runs_what_sampan_pushed(registry, sampan):
    sock = _containerd_socket()
    if sock is None:
        pytest.skip("ctr not installed or no containerd socket answers")
    ns = f"sampan-it-{sampan.tok}"
    ctr = ("ctr", "-a", sock, "-n", ns)
    ref = f"{registry.host}/interop/ctr-{sampan.tok}:1"
    sampan("push", sampan.local, ref)
    try:
        run(*ctr, "images", "pull", "--plain-http", ref)
        out = run(*ctr, "run", "--rm", ref, f"c-{sampan.tok}", "sh", "-c", f"echo from-ctr-{sampan.tok}")
        assert out.strip() == f"from-ctr-{sampan.tok}"
    finally:
        subprocess.run([*ctr, "containers", "rm", f"c-{sampan.tok}"], capture_output=True)
        subprocess.run([*ctr, "images", "rm", "--sync", ref], capture_output=True)
        subprocess.run(["ctr", "-a", sock, "namespaces", "rm", ns], capture_output=True)
        _remove_cgroups_named(ns)  # containerd leaves the namespace's (empty) cgroup behind


def _remove_cgroups_named(name: str) -> None:
    for base in Path("/sys/fs/cgroup").iterdir():
        top = base / name
        if not top.is_dir():
            continue
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def _saved(sampan: Sampan, tmp_path: Path) -> Path:
    archive = tmp_path / "bb-saved.tar"
    sampan("save", "-o", str(archive), sampan.local)
    return archive
