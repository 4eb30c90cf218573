"""`run -p` through the CLI: the container's NAT rules exist exactly while it runs, its
sandbox serves the next container, and a killed monitor's rules go at the next start or
`system prune`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import urllib.request

from tests.integration.engine.conftest import settle
from tests.support import leaks
from tests.support.net import free_port
from tests.support.polling import poll

HTTPD = ["sh", "-c", "echo hi from $HOSTNAME > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]


def _rules(cid: str) -> list[str]:
    out = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if cid in l and "SAMPAN-HOSTPORTS" in l]


def _get(port: int, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_rm_f_removes_the_rules_and_the_next_container_gets_the_port(sampan):
    port = free_port()
    cid = sampan.ok("run", "-d", "-h", "first", "-p", f"{port}:80", "busybox", *HTTPD).strip()
    assert _get(port) == "hi from first\n"
    assert len(_rules(cid)) == 3  # DNAT, and masquerade for the bridge and for 127.0.0.1
    sampan.ok("rm", "-f", cid)
    assert _rules(cid) == []
    # at once: the port is free and the sandbox (now a spare) serves the next container
    cid2 = sampan.ok("run", "-d", "-h", "second", "-p", f"{port}:80", "busybox", *HTTPD).strip()
    assert _get(port) == "hi from second\n"
    assert sampan.ok("port", cid2) == f"80/tcp -> 0.0.0.0:{port}\n"
    sampan.ok("stop", "-t", "0", cid2)
    assert poll(lambda: _rules(cid2) == [], timeout=15)  # the monitor's cleanup, after the exit is recorded
    sampan.ok("rm", cid2)
    settle(sampan)


def _monitor_of(sampan, cid: str) -> tuple[int, int]:
    conn = sqlite3.connect(sampan.root / "sampan.db")
    try:
        return conn.execute("SELECT pid, monitor_pid FROM containers WHERE id=?", (cid,)).fetchone()
    finally:
        conn.close()


def _kill_run(sampan, cid: str) -> None:
    """What a crash of the engine's process for this container does: nothing cleans up."""
    pid, monitor = _monitor_of(sampan, cid)
    os.kill(monitor, signal.SIGKILL)
    assert poll(lambda: leaks.start_time(monitor) == 0 and leaks.start_time(pid) == 0, timeout=15)


def test_rules_a_killed_monitor_left_go_at_the_next_start(sampan):
    port = free_port()
    cid = sampan.ok("run", "-d", "-h", "again", "-p", f"{port}:80", "busybox", *HTTPD).strip()
    assert _get(port) == "hi from again\n"
    before = _rules(cid)
    _kill_run(sampan, cid)
    assert _rules(cid) == before  # nobody cleaned up yet
    sampan.ok("start", cid)
    assert _get(port) == "hi from again\n"
    after = _rules(cid)
    assert len(after) == 3 and len(set(after)) == 3  # the old run's are gone, not doubled
    sampan.ok("rm", "-f", cid)
    assert _rules(cid) == []
    settle(sampan)


def test_rules_a_killed_monitor_left_go_at_system_prune(sampan):
    cid = sampan.ok("run", "-d", "-p", "80", "busybox", *HTTPD).strip()
    assert len(_rules(cid)) == 3
    _kill_run(sampan, cid)
    sampan.ok("system", "prune", "-f")
    assert _rules(cid) == []
    assert sampan.ok("ps", "-aq") == ""
    settle(sampan)
