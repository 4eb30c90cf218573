"""Lifecycle over both runtimes: exit codes, state transitions, cleanup."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from sampan.errors import (CommandNotExecutable, CommandNotFound, ContainerNotFound, InvalidState)
from tests.integration.runtime.conftest import exit_code, read_all
from tests.support import cgroups


@pytest.mark.parametrize("code", [0, 3])
def test_exit_code_is_the_commands(h, code):
    rc, _ = h.run(["sh", "-c", f"exit {code}"])
    assert rc == code


def test_missing_command_raises_command_not_found(h):
    with pytest.raises(CommandNotFound) as e:
        h.create(["no-such-cmd"])
    assert e.value.exit_code == 127
    assert "no-such-cmd" in str(e.value)


def test_not_executable_raises_126(h):
    with pytest.raises(CommandNotExecutable) as e:
        h.create(["/etc/passwd"])
    assert e.value.exit_code == 126


def test_sigkill_gives_137_and_states_follow_the_kernel(h):
    cid, created, r = h.create(["sleep", "100"])
    assert h.rt.state(cid).status == "created"
    # not started yet: the command has not run, init is waiting
    assert "sleep" not in Path(f"/proc/{created.pid}/cmdline").read_bytes().decode(errors="replace")
    h.rt.start(cid)
    st = h.rt.state(cid)
    assert st.status == "running" and st.pid == created.pid
    with pytest.raises(InvalidState):
        h.rt.start(cid)
    with pytest.raises(InvalidState):
        h.rt.delete(cid)
    h.rt.kill(cid, signal.SIGKILL)
    _, status = os.waitpid(created.pid, 0)
    read_all(r)
    assert exit_code(status) == 137
    assert h.rt.state(cid).status == "stopped"
    with pytest.raises(InvalidState):
        h.rt.kill(cid, signal.SIGTERM)
    h.rt.delete(cid)
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)


def test_delete_force_removes_processes_and_cgroup(h):
    cid, created, r = h.create(["sh", "-c", "sleep 100 & sleep 100"])
    h.rt.start(cid)
    procs = cgroups.procs_file(f"sampan-test/{cid}")
    assert len(procs.read_text().split()) >= 1
    h.rt.delete(cid, force=True)
    _, status = os.waitpid(created.pid, 0)
    read_all(r)
    assert exit_code(status) == 137
    assert not procs.parent.exists()
    assert not cgroups.dirs(f"sampan-test/{cid}")


def test_kill_all_signals_every_process(h):
    # pid 1 ignores SIGTERM (no handler), so only --all ends the sleeps and lets init finish
    cid, created, r = h.create(["sh", "-c", "sleep 100 & sleep 100 & wait; echo survived"])
    h.rt.start(cid)
    cg = cgroups.procs_file(f"sampan-test/{cid}")
    for _ in range(1000):
        if len(cg.read_text().split()) >= 3:
            break
        time.sleep(0.005)
    h.rt.kill(cid, signal.SIGTERM, all=True)
    _, status = os.waitpid(created.pid, 0)
    assert "survived" in read_all(r)
    assert exit_code(status) == 0


def test_unknown_container(h):
    with pytest.raises(ContainerNotFound):
        h.rt.state("t" + "0" * 10)


def test_terminal_flag_must_match_the_spec(h):
    from sampan.errors import InvalidArgument
    from sampan.runtime.base import Stdio
    cid, bundle = h.bundle(["true"], lambda s: s["process"].__setitem__("terminal", True))
    with pytest.raises(InvalidArgument):
        h.rt.create(cid, bundle, Stdio())
    with pytest.raises(ContainerNotFound):
        h.rt.state(cid)


def test_meanwhile_is_called_once_during_create(h):
    from sampan.runtime.base import Stdio
    cid, bundle = h.bundle(["sh", "-c", "exit 3"])
    calls = []
    r, w = os.pipe()
    created = h.rt.create(cid, bundle, Stdio(stdout=w, stderr=w), meanwhile=lambda: calls.append(1))
    os.close(w)
    h.cids.append(cid)
    h.pids.append(created.pid)
    assert calls == [1]
    assert h.rt.state(cid).status == "created"  # the command waits for start()
    h.rt.start(cid)
    _, status = os.waitpid(created.pid, 0)
    assert exit_code(status) == 3
    read_all(r)
