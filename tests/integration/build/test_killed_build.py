"""A build killed while a RUN step runs leaves nothing behind, checked from outside: the
step's processes, its cgroup, its root's mount, its network sandbox and the build's temp
dirs are gone. On SIGTERM/SIGINT the build cleans up itself; on SIGKILL its guard does;
if the guard was killed too, the next build does."""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.cli import Sampan


@pytest.fixture
def cli(state_dirs, busybox_tar, tmp_path):
    root, runroot = state_dirs
    s = Sampan(root, runroot)
    s.ok("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox")
    s.ctx = tmp_path / "ctx"
    s.ctx.mkdir()
    yield s
    s.cleanup()
    from tests.integration.engine.conftest import _network_teardown

    _network_teardown(root, runroot)


def _start_build(cli: Sampan, runtime: str, network: str, tmp_path: Path):
    token = secrets.token_hex(4)
    # not `sleep` alone: busybox sh would exec it, and the step should hold two processes
    (cli.ctx / "Dockerfile").write_text(f"FROM busybox\nRUN echo started-{token} && sleep 1000 && echo never\n")
    log = tmp_path / "build.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cli.argv("--runtime", runtime, "build", "--progress=plain",
                                         f"--network={network}", "-t", "killed:1", str(cli.ctx)),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=cli.env())
    return proc, log, token


def _running_step(cli: Sampan, proc, log: Path, token: str) -> tuple[str, set]:
    """Wait until the RUN step's command runs; its container id and processes."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        # the step's title names the token too: its output is the second mention
        if log.read_text().count(f"started-{token}") >= 2:
            cids = [p.parent.name for p in (cli.runroot / "runtime").rglob("state.json")]
            if cids:
                processes = leaks.cgroup_processes(cids[0])
                if len(processes) >= 2:
                    return cids[0], processes
        time.sleep(0.05)
    raise AssertionError(f"the RUN step did not start: {log.read_text()}")


def _leftovers(cli: Sampan, cid: str, processes: set) -> dict:
    base = str(cli.root.parent)
    found = {
        "processes": sorted(leaks.still_alive(processes)),
        "cgroups": leaks.cgroups_named(cid),
        # a spare sandbox, made ahead for the next container, is no leftover
        "mounts": [m for m in leaks.mounts_under(base, but_layers=True)
                   if not m.startswith(f"{cli.runroot}/netns/spare")],
        "sampan processes": leaks.processes_with(base),
        "temp files": sorted(os.listdir(cli.root / "tmp")) if (cli.root / "tmp").exists() else [],
        "runtime state": [str(p) for p in (cli.runroot / "runtime").rglob(cid)],
        "netns": [str(p) for p in (cli.runroot / "netns").glob(cid)],
        "iptables": [l for l in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
                     .splitlines() if cid in l],
    }
    if (cli.root / "sampan.db").exists():
        conn = sqlite3.connect(cli.root / "sampan.db")
        try:
            found["attachments"] = conn.execute("SELECT network FROM attachments WHERE cid=?",
                                                (cid,)).fetchall()
        except sqlite3.OperationalError:
            pass  # no network was ever made
        finally:
            conn.close()
    return {k: v for k, v in found.items() if v}


def _wait_clean(cli: Sampan, cid: str, processes: set, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = _leftovers(cli, cid, processes)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.mark.parametrize("sig,runtime,network", [
    (signal.SIGKILL, "native", "none"),
    (signal.SIGKILL, "runc", "none"),
    (signal.SIGKILL, "native", "default"),
    (signal.SIGTERM, "native", "default"),
    (signal.SIGTERM, "runc", "none"),
    (signal.SIGINT, "native", "none"),
])
def test_killed_build_leaves_no_run_container(cli, tmp_path, sig, runtime, network):
    proc, log, token = _start_build(cli, runtime, network, tmp_path)
    cid, processes = _running_step(cli, proc, log, token)
    assert leaks.mounts_under(str(cli.root / "tmp")), "the step's root should be mounted now"
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    assert rc == (-signal.SIGKILL if sig == signal.SIGKILL else 128 + sig), log.read_text()
    if sig != signal.SIGKILL:
        assert log.read_text().rstrip().endswith(f"sampan: build stopped by {signal.Signals(sig).name}")
    assert _wait_clean(cli, cid, processes) == {}
    assert "killed" not in cli.ok("images")


@pytest.mark.parametrize("runtime", ["native", "runc"])
def test_next_build_sweeps_what_a_killed_build_left(cli, tmp_path, runtime):
    """The guard is killed first (as a `kill -9` of everything would): the next build finds
    the dead build's scratch and releases what it recorded there."""
    proc, log, token = _start_build(cli, runtime, "default", tmp_path)
    cid, processes = _running_step(cli, proc, log, token)
    for line in leaks.processes_with(f"{cli.root}/tmp/build-"):  # the guard names the scratch dir
        os.kill(int(line.split(":")[0]), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=30)
    time.sleep(0.5)
    left = _leftovers(cli, cid, processes)
    assert left.get("mounts") and left.get("temp files"), left  # nobody cleaned up yet
    (cli.ctx / "Dockerfile").write_text("FROM busybox\nRUN echo next > /next\n")
    cli.ok("build", "-q", "--network=none", "-t", "next:1", str(cli.ctx))
    assert _wait_clean(cli, cid, processes, timeout=5) == {}
    assert cli.ok("run", "--rm", "--network=none", "next:1", "cat", "/next") == "next\n"
