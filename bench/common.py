"""Shared helpers for the benchmarks: a private sampan root, a busybox image, Docker if present."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The installed entry point: the venv's own interpreter, not a pyenv shim.
SAMPAN = str(REPO / ".venv" / "bin" / "sampan")


def unmount_layers(base: Path | str) -> None:
    """Unmount the layer images (DESIGN.md, "Layers as EROFS images") of the stores under
    base: a store keeps them mounted while the layer exists, and base is about to go."""
    from tests.support.leaks import release_layer_images
    release_layer_images(str(base).rstrip("/") + "/")


class SampanBench:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sampan-bench-"))
        self.root, self.runroot = self.base / "root", self.base / "run"

    def argv(self, *args: str) -> list[str]:
        return [SAMPAN, "--root", str(self.root), "--runroot", str(self.runroot), *args]

    def run(self, *args: str, check: bool = True) -> str:
        p = subprocess.run(self.argv(*args), capture_output=True, text=True)
        if check and p.returncode != 0:
            raise SystemExit(f"sampan {' '.join(args)} failed: {p.stderr.strip()}")
        return p.stdout

    def import_busybox(self) -> Path:
        from tests.support.busybox import write_busybox_tar
        tar = write_busybox_tar(self.base / "busybox.tar")
        self.run("import", "--change", 'CMD ["sh"]', str(tar), "busybox")
        return tar

    def wait_for_zygote(self, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (self.runroot / "zygote.sock").exists():
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.run("system", "zygote", "stop", check=False)
        ids = self.run("ps", "-aq", "--no-trunc", check=False).split()
        if ids:
            self.run("rm", "-f", *ids, check=False)
        try:
            from sampan.network import NetworkManager
            from sampan.state.db import Database
            from sampan.state.paths import Paths
            paths = Paths(self.root, self.runroot)
            db = Database(paths.db)
            nm = NetworkManager(paths, db)
            nm.settle()
            nm.destroy_default()
            db.close()
        except Exception as e:  # a benchmark must not leave a bridge behind silently
            print(f"warning: network cleanup: {e}", file=sys.stderr)
        unmount_layers(self.base)
        shutil.rmtree(self.base, ignore_errors=True)


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def docker_import_busybox(tar: Path) -> None:
    subprocess.run(["docker", "import", "--change", 'CMD ["sh"]', str(tar), "sampan-bench-busybox"],
                   check=True, capture_output=True)


def timed(argv: list[str], n: int, env: dict | None = None, warmup: int = 0) -> list[float]:
    """Wall time of n runs of argv, after `warmup` runs that are not counted."""
    for _ in range(warmup):
        subprocess.run(argv, capture_output=True, env=env)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(argv, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {p.stderr.decode().strip()}")
    return times


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def mem_used_kib() -> int:
    info = {}
    for line in open("/proc/meminfo"):
        k, v = line.split(":")
        info[k] = int(v.split()[0])
    return info["MemTotal"] - info["MemAvailable"]


def pss_kib(pid: int) -> int:
    """A process's proportional set size: its private pages plus its share of shared ones."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def env_note() -> str:
    return (f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cpus, "
            f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}")
