"""A killed `import` or `load` leaves its scratch file behind (hundreds of MB once); the
next command that writes to the store removes it, and never a live writer's.

The big input is a slow pipe: the test writes part of a tar, waits until the temp
file is on disk, then SIGKILLs the command mid-stream.
"""

import os
import signal
import subprocess
import tarfile
import time

from tests.support.cli import Sampan

CHUNK = 1 << 20


def _tar_head(size: int) -> bytes:
    """The start of a tar holding one file of `size` random-ish bytes (header + data)."""
    ti = tarfile.TarInfo("big.bin")
    ti.size = size
    return ti.tobuf(format=tarfile.PAX_FORMAT)


def _temps(sampan) -> list[str]:
    tmp = sampan.root / "tmp"
    return sorted(n for n in os.listdir(tmp) if n.split("-")[0] in ("blob", "pull", "load")) \
        if tmp.exists() else []


def _wait_for(cond, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _start_slow_import(sampan, name: str, size: int, sent: int) -> subprocess.Popen:
    p = subprocess.Popen(sampan.argv("import", "-", name), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=sampan.env())
    p.stdin.write(_tar_head(size))
    data = os.urandom(CHUNK)
    for _ in range(sent // CHUNK):
        p.stdin.write(data)
    p.stdin.flush()
    return p


def _temp_of(sampan, pid: int, at_least: int) -> str:
    found: list[str] = []

    def there() -> bool:
        found[:] = [n for n in _temps(sampan) if n.startswith(f"blob-{pid}-")
                    and os.path.getsize(sampan.root / "tmp" / n) >= at_least]
        return bool(found)
    _wait_for(there, f"a temp blob of pid {pid}")
    return found[0]


def test_killed_import_leaves_nothing_for_long(state_dirs, busybox_tar):
    root, runroot = state_dirs
    sampan = Sampan(root, runroot)
    sampan.ok("import", str(busybox_tar), "busybox")
    p = _start_slow_import(sampan, "big", 64 * CHUNK, 24 * CHUNK)
    try:
        temp = _temp_of(sampan, p.pid, 1 << 20)
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
    assert p.returncode == -signal.SIGKILL
    assert (root / "tmp" / temp).exists()   # what the kill left behind
    # a live concurrent writer, stopped mid-stream: its temp file must survive the sweep
    live = _start_slow_import(sampan, "live", 8 * CHUNK, 4 * CHUNK)
    try:
        live_temp = _temp_of(sampan, live.pid, 1)
        sampan.ok("import", str(busybox_tar), "busybox2")   # takes the store lock: sweeps
        assert not (root / "tmp" / temp).exists()
        assert (root / "tmp" / live_temp).exists()
        data = os.urandom(CHUNK)
        for _ in range(4):
            live.stdin.write(data)
        live.stdin.write(b"\0" * 1024)   # end of archive
        live.stdin.close()
        assert live.wait(60) == 0, live.stderr.read()
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    assert "live:latest" in sampan.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert _temps(sampan) == []


def test_killed_load_leaves_nothing_for_long(state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    sampan = Sampan(root, runroot)
    sampan.ok("import", str(busybox_tar), "busybox")
    out = tmp_path / "bb.tar"
    sampan.ok("save", "-o", str(out), "busybox")
    # load from a pipe that stops mid-archive: it spools stdin first (an unnamed file,
    # gone with the process), so a kill there leaves nothing at all
    p = subprocess.Popen(sampan.argv("load"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=sampan.env())
    data = out.read_bytes()
    p.stdin.write(data[: len(data) // 2])
    p.stdin.flush()
    time.sleep(1)
    p.kill()
    p.wait()
    p.stdin.close()
    assert _temps(sampan) == []
    # a blob write killed half-way (as a load's commit may be) is swept by the next load
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = root / "tmp" / f"blob-{dead.pid}-1-0123456789ab"  # start time 1: long gone
    stale.write_bytes(b"x" * CHUNK)
    assert sampan("load", "-i", str(out)).rc == 0
    assert not stale.exists()
