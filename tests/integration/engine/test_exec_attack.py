"""`exec` must hand a watching container nothing of the host (issue 9).

A process in the container (tests/support/proc_watcher.sh) polls /proc for new pids
and tries to open their /proc/PID/fd/* read-write and their /proc/PID/exe, holding
the latter to write once nothing executes it (CVE-2019-5736), while `sampan exec`
runs again and again from a private copy of the interpreter. From outside: the copy
is unchanged, the database holds no byte of the attacker's, and the attacker logged
no host descriptor and no write. On main this fails within a few dozen execs: the
joining interpreter was dumpable, held the engine's descriptors (sampan.db) and
became visible in the container before its execve. A descriptor of the container's own
file (the same inode at that path inside: runc's init reads the container's /etc/passwd
while it sets the user up) is not reported: the container may write it anyway.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sampan as sampan_pkg
from tests.support.cli import Sampan

WATCHER = Path(__file__).parents[2] / "support" / "proc_watcher.sh"
MARK = b"PWNED-FROM-CONTAINER"


def _stop(pid: int) -> None:
    try:
        if b"proc_watcher" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("runtime,caps,execs", [
    ("native", [], 30),
    ("native", ["--cap-add", "SYS_PTRACE"], 15),  # it may open a non-dumpable process's entries
    ("runc", ["--cap-add", "SYS_PTRACE"], 10),
], ids=["native", "native-sys-ptrace", "runc-sys-ptrace"])
def test_exec_gives_a_watching_container_nothing_of_the_host(sampan, tmp_path, runtime, caps, execs):
    chk = tmp_path / "chk"
    chk.mkdir()
    shutil.copy(WATCHER, chk / "proc_watcher.sh")
    # The CLI that execs runs from a copy of the interpreter that nothing else executes, so
    # a descriptor of it held by the container becomes writable the moment the CLI exits.
    python = tmp_path / "python3"
    shutil.copy(os.path.realpath(sys.executable), python)
    before = _digest(python)
    runtime_before = _digest(Path(shutil.which(runtime))) if runtime != "native" else None
    s = Sampan(sampan.root, sampan.runroot, runtime=runtime)
    s.ok("run", "-d", "--name", "watcher", "--network", "none", *caps, "-v", f"{chk}:/chk:ro",
         "busybox", "/chk/proc_watcher.sh")
    watcher_pid = int(s.ok("inspect", "-f", "{{.State.Pid}}", "watcher"))
    deadline = time.monotonic() + 10
    while s("exec", "watcher", "test", "-e", "/tmp/attack.log").rc != 0:
        assert time.monotonic() < deadline, "the watcher did not start"
        time.sleep(0.1)
    env = s.env() | {"PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(sampan_pkg.__file__)))}
    argv = [str(python), "-m", "sampan"] + s.argv("exec", "watcher", "true")[3:]
    try:
        for _ in range(execs):
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
            assert p.returncode == 0, p.stderr.decode()
        time.sleep(1.5)  # the watcher's held descriptors get their chance now that the copy is idle
        log = s.ok("exec", "watcher", "cat", "/tmp/attack.log").splitlines()
    finally:
        _stop(watcher_pid)  # even when the attack broke the database and `rm` cannot work
        s("rm", "-f", "watcher")
    assert _digest(python) == before, "the container wrote to a host binary"
    for f in Path(s.root).glob("sampan.db*"):
        assert MARK not in f.read_bytes(), f"the container wrote into {f.name}"
    reached = [line for line in log if line.startswith(("WIN", "fd "))]
    assert not reached, f"the container reached host files: {reached[:5]}"
    exes = [line for line in log if line.startswith("exe ") and len(line.split()) > 2]
    if runtime == "native":  # with CAP_SYS_PTRACE it may open an exe: only our sealed copy
        assert all(line.split()[2].startswith("/memfd:sampan-exec") for line in exes), exes[:5]
    else:  # runc's own binary, through a read-only bind mount (runc 1.1) or a sealed memfd
        assert _digest(Path(shutil.which(runtime))) == runtime_before
