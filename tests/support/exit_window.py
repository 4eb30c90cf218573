"""The moment after a container exited and before its monitor recorded that, held open: a
test holds the database's write lock, so the monitor's finish step (under the C idle monitor,
a fresh process it execs) waits to write the exit while the container is gone. What a client
does in that window is what a slow one does on a busy machine, every time."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

from tests.support import leaks
from tests.support.polling import poll

GATED = "while [ ! -e /gate/go ]; do usleep 20000; done; echo bye; exit 3"  # exits 3 once /gate/go exists


def gated_container(sampan, tmp_path: Path, name: str) -> tuple[str, Path]:
    """A container idling under the C monitor until the test opens its gate (then it exits 3):
    its id and its gate."""
    gate = tmp_path / f"gate-{name}"
    gate.mkdir()
    cid = sampan.ok("run", "-d", "--name", name, "--network", "none", "-v", f"{gate}:/gate", "busybox",
                    "sh", "-c", GATED).strip()
    assert poll(lambda: c_monitor_runs(cid))
    return cid, gate


def c_monitor_runs(cid: str) -> bool:
    """The container's idle monitor is the C program (engine/cmonitor.c)."""
    from sampan.engine import cmonitor_build
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(cmonitor_build.NAME.encode()) and len(argv) > 2 and cid.encode() in argv[2]:
            return True
    return False


def record(root: Path, cid: str) -> dict:
    conn = sqlite3.connect(root / "sampan.db")
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT state, pid, monitor_pid FROM containers WHERE id=?", (cid,)).fetchone())
    finally:
        conn.close()


@contextmanager
def exit_not_recorded(root: Path, cid: str, gate: Path):
    """Open /gate for the container, and hold its exit unrecorded until the block ends: the
    container is gone, its monitor alive (waiting to write) and the record says running."""
    before = record(root, cid)
    conn = sqlite3.connect(root / "sampan.db", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        (gate / "go").touch()
        assert poll(lambda: leaks.start_time(before["pid"]) == 0, timeout=15)
        assert poll(lambda: not c_monitor_runs(cid), timeout=15)  # it exec'd its finish step
        assert leaks.start_time(before["monitor_pid"]) != 0 and record(root, cid)["state"] == "running"
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def queued(path: str) -> int:
    """Clients waiting in the backlog of the listening unix socket at path (ss's Recv-Q)."""
    out = subprocess.run(["ss", "-xlH"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == path:
            return int(fields[2])
    return 0


def holds_a_lock(pid: int) -> bool:
    """pid holds a file lock (the container's: a start is past taking it)."""
    return any(line.split()[4] == str(pid) for line in Path("/proc/locks").read_text().splitlines()
               if len(line.split()) > 4)
