"""Detached containers idling under the C monitor (engine/cmonitor.c): logs, `logs -f`, attach
(which hands over to the Python monitor), stop, kill, exit codes, --rm, restart policies, a
tty, and the fallback to the Python monitor without a compiler."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sampan.engine import cmonitor_build
from tests.support.polling import poll

pytestmark = [pytest.mark.root, pytest.mark.skipif(cmonitor_build.compiler() is None, reason="no C compiler")]


def _monitor(sampan, name: str) -> str | None:
    """'c' or 'python' (lean): what the container's idle monitor runs now."""
    cid = sampan.ok("inspect", "-f", "{{.Id}}", name).strip()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(cmonitor_build.NAME.encode()) and cid.encode() in argv[2]:
            return "c"
        if b"monitor_loop import lean_main" in b" ".join(argv) and cid.encode().hex().encode() in argv[-1]:
            return "python"
    return None


def test_a_detached_container_idles_in_c_and_logs(sampan):
    sampan.ok("run", "-d", "--name", "idle", "busybox", "sh", "-c",
              "printf 'one\\n\\033[1m\"two\"\\\\\\n'; echo err >&2; sleep 0.5; echo later; sleep 60")
    assert poll(lambda: _monitor(sampan, "idle") == "c")
    assert poll(lambda: "later" in sampan.ok("logs", "idle"))
    r = sampan("logs", "idle")
    assert r.out == 'one\n\x1b[1m"two"\\\nlater\n' and r.err == "err\n"
    sampan.ok("stop", "-t", "1", "idle")
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "idle").split() == ["exited", "137"]
    sampan.ok("rm", "idle")


def test_exit_code_and_output_without_newline(sampan):
    sampan.ok("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; printf 'no newline'; exit 3")
    assert sampan.ok("wait", "short").strip() == "3"
    assert sampan.ok("logs", "short") == "no newline"
    sampan.ok("rm", "short")


def test_kill_and_rm(sampan):
    sampan.ok("run", "-d", "--name", "killed", "busybox", "sleep", "60")
    sampan.ok("run", "-d", "--rm", "--name", "gone", "busybox", "sh", "-c",
              "trap 'exit 9' USR1; while true; do sleep 0.1; done")
    assert poll(lambda: _monitor(sampan, "killed") == "c" and _monitor(sampan, "gone") == "c")
    sampan.ok("kill", "killed")
    assert sampan.ok("wait", "killed").strip() == "137"
    sampan.ok("kill", "-s", "USR1", "gone")
    assert poll(lambda: sampan("inspect", "gone").rc != 0)  # --rm: removed by the finish step
    sampan.ok("rm", "killed")


def test_restart_policy_runs_again(sampan):
    sampan.ok("run", "-d", "--name", "again", "--restart", "on-failure:1", "busybox", "sh", "-c",
              "sleep 1; exit 2")
    assert poll(lambda: sampan.ok("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "again").split()
                == ["1", "exited"], timeout=60)
    assert sampan.ok("inspect", "-f", "{{.State.ExitCode}}", "again").strip() == "2"
    sampan.ok("rm", "again")


def test_logs_follow_and_attach_hand_over_to_python(sampan):
    sampan.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c", "while true; do echo tick; sleep 0.2; done")
    assert poll(lambda: _monitor(sampan, "ticker") == "c")
    follow = subprocess.Popen(sampan.argv("logs", "-f", "--tail", "0", "ticker"), stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=sampan.env())
    attach = subprocess.Popen(sampan.argv("attach", "--no-stdin", "ticker"), stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=sampan.env())
    try:
        assert follow.stdout.readline() == b"tick\n"
        assert attach.stdout.readline() == b"tick\n"
        assert _monitor(sampan, "ticker") == "python"  # the attach client made it hand over
    finally:
        sampan.ok("kill", "ticker")
        for p in (follow, attach):
            p.wait(timeout=30)
    assert attach.returncode == 137
    sampan.ok("rm", "ticker")


def test_tty_output(sampan):
    sampan.ok("run", "-dt", "--name", "tty", "busybox", "sh", "-c", "sleep 0.5; echo on-a-tty; sleep 60")
    assert poll(lambda: _monitor(sampan, "tty") == "c")
    assert poll(lambda: "on-a-tty\r\n" in sampan.ok("logs", "tty"))
    sampan.ok("rm", "-f", "tty")


def _monitor_exe(sampan, name: str) -> str | None:
    """The file the container's C monitor process runs (/proc/PID/exe)."""
    cid = sampan.ok("inspect", "-f", "{{.Id}}", name).strip()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().rstrip(b"\0").split(b"\0")
            if argv[0].endswith(cmonitor_build.NAME.encode()) and cid.encode() in argv[2]:
                return os.readlink(f"/proc/{pid}/exe")
        except (OSError, IndexError):
            continue
    return None


def _planted(exe: Path, marker: Path) -> None:
    """A script in the binary's place that would leave a marker, its sha256 file updated: only
    the attack's own flaw tells it apart."""
    good = exe.parent.parent.parent / "good-copy"
    shutil.copy2(exe, good)
    exe.write_text(f'#!/bin/sh\ntouch {marker}\nexec {good} "$@"\n')
    (exe.parent / cmonitor_build.SUM).write_text(hashlib.sha256(exe.read_bytes()).hexdigest() + "\n")


def _group_writable(exe: Path, marker: Path) -> None:
    _planted(exe, marker)
    exe.chmod(0o775)


def _other_owner(exe: Path, marker: Path) -> None:
    _planted(exe, marker)
    os.chown(exe, 1234, 1234)


def _symlink(exe: Path, marker: Path) -> None:
    _planted(exe, marker)
    planted = exe.parent.parent.parent / "planted"
    exe.rename(planted)
    exe.symlink_to(planted)


def _truncated(exe: Path, marker: Path) -> None:
    exe.write_bytes(exe.read_bytes()[:4096])


@pytest.mark.parametrize("attack", [_group_writable, _other_owner, _symlink, _truncated],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_host_cache_binary_that_fails_a_check_is_never_run(sampan, monkeypatch, tmp_path, attack):
    cache = tmp_path / "cache" / "libexec"
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", str(cache))
    (tmp_path / "warm").mkdir()
    exe = Path(cmonitor_build.binary(str(tmp_path / "warm")))
    assert exe.parent.parent == cache
    marker = tmp_path / "ran"
    attack(exe, marker)
    sampan.ok("run", "-d", "--name", "safe", "busybox", "sh", "-c", "echo hi; sleep 60")
    own = os.path.join(sampan.root, "libexec", exe.parent.name, cmonitor_build.NAME)
    assert poll(lambda: _monitor_exe(sampan, "safe")) == own  # the root's own copy, compiled for it
    assert not marker.exists()
    assert poll(lambda: sampan.ok("logs", "safe") == "hi\n")
    doctor = sampan.ok("doctor").splitlines()
    (line,) = [x for x in doctor if "idle monitor" in x]
    assert line.startswith("warn") and "refused" in line
    sampan.ok("rm", "-f", "safe")


def test_every_root_runs_the_host_caches_binary(sampan, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "libexec"
    monkeypatch.setenv("SAMPAN_LIBEXEC_CACHE", str(cache))
    sampan.ok("run", "-d", "--name", "cached", "busybox", "sleep", "60")
    got = poll(lambda: _monitor_exe(sampan, "cached"))  # its monitor compiles it (first use)
    (exe,) = cache.glob(f"*/{cmonitor_build.NAME}")
    assert got == str(exe)
    assert not os.path.exists(os.path.join(sampan.root, "libexec"))
    assert f"C from the host cache: {exe}" in sampan.ok("doctor")
    sampan.ok("rm", "-f", "cached")


def test_without_a_compiler_the_python_monitor_idles(sampan, monkeypatch, tmp_path):
    monkeypatch.setenv("SAMPAN_CC", str(tmp_path / "no-cc"))
    sampan.ok("run", "-d", "--name", "py", "busybox", "sh", "-c", "echo hello; sleep 60")
    assert poll(lambda: _monitor(sampan, "py") == "python")
    assert sampan.ok("logs", "py") == "hello\n"
    sampan.ok("rm", "-f", "py")


def test_a_healthcheck_or_stdin_keeps_python(sampan):
    sampan.ok("run", "-di", "--name", "stdin", "busybox", "sleep", "60")
    assert poll(lambda: _monitor(sampan, "stdin") == "python")
    sampan.ok("rm", "-f", "stdin")


def test_attach_as_the_container_exits_gets_its_exit_code(sampan, tmp_path):
    """A client that reaches the C monitor's socket after the exit, before the exit is recorded,
    is told the exit (it used to get nothing: 'lost the connection', 125); once the exit is
    recorded, attach is Docker's refusal of a stopped container."""
    from tests.support.exit_window import exit_not_recorded, gated_container, queued
    cid, gate = gated_container(sampan, tmp_path, "late")
    sock = str(sampan.runroot / "a" / (cid[:16] + ".sock"))
    with exit_not_recorded(sampan.root, cid, gate):
        late = subprocess.Popen(sampan.argv("attach", "late"), env=sampan.env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert poll(lambda: queued(sock) == 1 or late.poll() is not None)
    out, err = late.communicate(timeout=30)
    assert (late.returncode, err) == (3, b""), err
    r = sampan("attach", "late")
    assert (r.rc, r.err) == (1, "sampan: You cannot attach to a stopped container, start it first\n")
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "late").split() == ["exited", "3"]
    sampan.ok("rm", "late")


def test_start_a_as_the_container_exits_starts_it_again(sampan, tmp_path):
    """`start -a` in that moment waits for the exit to be recorded and starts the container
    again, as Docker's start of a container that has just exited (not 'already running')."""
    from tests.support.exit_window import exit_not_recorded, gated_container, holds_a_lock
    cid, gate = gated_container(sampan, tmp_path, "again")
    with exit_not_recorded(sampan.root, cid, gate):
        again = subprocess.Popen(sampan.argv("start", "-a", "again"), env=sampan.env(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert poll(lambda: holds_a_lock(again.pid) or again.poll() is not None)
    out, err = again.communicate(timeout=60)
    assert (again.returncode, out, err) == (3, b"bye\n", b""), err
    assert sampan.ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "again").split() == ["exited", "3"]
    sampan.ok("rm", "again")
