"""A detached container whose monitor is killed (kill -9) does not live on unsupervised,
its output going nowhere while `ps` says Up: the first command that looks stops it and
records why (exited 137, State.Error). Checked from outside: its processes, mount and
cgroup are gone, and wait, logs, stop and rm answer at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.integration.engine.conftest import settle
from tests.support import leaks
from tests.support.polling import poll

TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
MONITOR_DIED = "monitor process died; container stopped"


def _record(sampan, cid: str) -> dict:
    conn = sqlite3.connect(sampan.root / "sampan.db")
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("SELECT pid, monitor_pid, monitor_start FROM containers WHERE id=?",
                                 (cid,)).fetchone())
    finally:
        conn.close()


def _is_spare(sampan, netns) -> bool:
    conn = sqlite3.connect(sampan.root / "sampan.db")
    try:
        return conn.execute("SELECT state FROM net_attachments WHERE netns=?", (str(netns),)).fetchone() == ("spare",)
    finally:
        conn.close()


def _start_ticker(sampan, *flags: str) -> tuple[str, set, int]:
    """A detached container printing a line every 0.1 s: (id, its processes, its monitor's pid)."""
    cid = sampan.ok("run", "-d", *flags, "busybox", "sh", "-c", TICKER).strip()
    assert poll(lambda: "tick 3" in sampan.ok("logs", cid), timeout=15)
    processes = leaks.cgroup_processes(cid)
    assert processes
    return cid, processes, _record(sampan, cid)["monitor_pid"]


def _kill_monitor(monitor: int) -> None:
    os.kill(monitor, signal.SIGKILL)
    assert poll(lambda: leaks.start_time(monitor) == 0, timeout=5)


def _assert_stopped_and_clean(sampan, cid: str, processes: set) -> None:
    assert not leaks.still_alive(processes)
    assert leaks.cgroups_named(cid) == []
    assert leaks.mounts_under(str(sampan.root / "containers" / cid)) == []


@pytest.mark.parametrize("runtime,network", [("native", "none"), ("runc", "none"), ("native", "default")])
def test_killed_monitor_is_noticed_and_recorded(sampan, runtime, network):
    flags = ["--runtime", runtime, "--network", network] + (["-p", "80"] if network == "default" else [])
    cid, processes, monitor = _start_ticker(sampan, *flags)
    _kill_monitor(monitor)
    assert sampan.ok("ps", "-a", "--format", "{{.Status}}").startswith("Exited (137)")
    _assert_stopped_and_clean(sampan, cid, processes)  # `ps` stopped it (runc) and cleaned up
    state = json.loads(sampan.ok("inspect", cid))[0]["State"]
    assert (state["Status"], state["Running"], state["ExitCode"], state["Error"]) == \
        ("exited", False, 137, MONITOR_DIED)
    assert sampan.ok("ps", "-q") == ""  # not among the running ones
    logs = sampan("logs", cid, timeout=10)
    assert logs.rc == 0 and logs.out.startswith("tick 0\ntick 1\ntick 2\ntick 3\n")
    assert logs.err == f"sampan: {MONITOR_DIED}; its output after that was not logged\n"
    assert sampan("logs", "-f", cid, timeout=10).rc == 0  # nothing left to follow
    assert sampan.ok("wait", cid, timeout=10).strip() == "137"
    assert sampan("stop", cid, timeout=10).rc == 0
    if network == "default":
        settle(sampan)
        rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
        assert cid not in rules
        # gone, or (its ports unpublished) kept as a spare sandbox for the next container
        ns = sampan.runroot / "netns" / cid
        assert not ns.exists() or _is_spare(sampan, ns)
    sampan.ok("rm", cid)
    assert sampan.ok("ps", "-aq") == ""


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_wait_and_logs_follow_return_when_the_monitor_dies(sampan, runtime):
    cid, processes, monitor = _start_ticker(sampan, "--runtime", runtime, "--network", "none")
    waiter = subprocess.Popen(sampan.argv("wait", cid), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=sampan.env(), text=True)
    follower = subprocess.Popen(sampan.argv("logs", "-f", cid), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=sampan.env(), text=True)
    try:
        time.sleep(0.5)
        assert waiter.poll() is None and follower.poll() is None
        _kill_monitor(monitor)
        out, err = waiter.communicate(timeout=20)
        assert (waiter.returncode, out.strip()) == (0, "137"), err
        out, err = follower.communicate(timeout=20)
        assert follower.returncode == 0 and out.startswith("tick 0\n"), err
    finally:
        for p in (waiter, follower):
            p.kill()
            p.wait()
    _assert_stopped_and_clean(sampan, cid, processes)
    assert json.loads(sampan.ok("inspect", cid))[0]["State"]["Error"] == MONITOR_DIED


def test_auto_removed_container_whose_monitor_died(sampan):
    cid, processes, monitor = _start_ticker(sampan, "--rm", "--runtime", "runc", "--network", "none")
    _kill_monitor(monitor)
    assert sampan.ok("wait", cid, timeout=20).strip() == "137"
    assert sampan.ok("ps", "-aq") == ""  # --rm: gone, as its own exit would have left it
    _assert_stopped_and_clean(sampan, cid, processes)
    assert sampan("rm", cid).rc == 1  # no such container any more
    gone = sampan("rm", "-f", cid)  # and -f says nothing of it, as Docker
    assert (gone.rc, gone.err) == (0, "")


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_attached_run_whose_monitor_dies_says_so(sampan, runtime):
    run = subprocess.Popen(sampan.argv("--runtime", runtime, "run", "--name", "fg", "--network", "none",
                                       "busybox", "sh", "-c", TICKER),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=sampan.env(), text=True)
    try:
        assert run.stdout.readline() == "tick 0\n"
        cid = sampan.ok("ps", "-q", "--no-trunc").strip()
        processes = leaks.cgroup_processes(cid)
        _kill_monitor(_record(sampan, cid)["monitor_pid"])
        out, err = run.communicate(timeout=20)
    finally:
        run.kill()
        run.wait()
    assert (run.returncode, err) == (125, f"sampan: container fg: {MONITOR_DIED}\n")
    _assert_stopped_and_clean(sampan, cid, processes)  # settled by the run itself
    assert sampan.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}").startswith("fg Exited (137)")
