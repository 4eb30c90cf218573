"""exec into a running container and terminal mode, over both runtimes."""

from __future__ import annotations

import fcntl
import os
import struct
import termios

import pytest

from sampan.errors import CommandNotFound, InvalidState
from sampan.runtime.base import Stdio
from sampan.runtime.caps import mask
from tests.integration.runtime.bundle import DOCKER_CAPS
from tests.integration.runtime.conftest import exit_code, read_all
from tests.support import cgroups

ENV = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]


def process(args, **extra) -> dict:
    p = {"args": args, "env": list(ENV), "cwd": "/", "user": {"uid": 0, "gid": 0},
         "capabilities": {k: list(DOCKER_CAPS) for k in ("bounding", "effective", "permitted")}}
    p.update(extra)
    return p


def run_exec(h, cid, proc) -> tuple[int, str]:
    r, w = os.pipe()
    try:
        created = h.rt.exec(cid, proc, Stdio(stdout=w, stderr=w))
    finally:
        os.close(w)
    h.pids.append(created.pid)
    _, status = os.waitpid(created.pid, 0)
    return exit_code(status), read_all(r)


def test_exec_sees_the_same_pid_namespace_hostname_and_mounts(h):
    cid, created, r = h.create(["sh", "-c", "echo marker > /tmp/made-by-init; exec sleep 100"])
    h.rt.start(cid)
    # the marker file is written right after start; exec until it shows (sleep is a builtin-free fork)
    rc, out = run_exec(h, cid, process(["sh", "-c", "while [ ! -e /tmp/made-by-init ]; do :; done; "
                                        "echo pid=$$; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                                        "cat /tmp/made-by-init; readlink /proc/self/ns/pid; readlink /proc/1/ns/pid"]))
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] != "pid=1" and lines[0].startswith("pid=")
    assert lines[1] == "box-" + cid[:8]
    assert lines[2].startswith("sleep 100")
    assert lines[3] == "marker"
    assert lines[4] == lines[5]
    h.rt.kill(cid, 9)
    os.waitpid(created.pid, 0)
    read_all(r)


def test_exec_user_env_cwd_and_exit_code(h):
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    proc = process(["sh", "-c", "id -u; id -G; pwd; echo $X; exit 5"], cwd="/var/www",
                   user={"uid": 33, "gid": 33, "additionalGids": [50]}, env=ENV + ["X=exec-env"])
    rc, out = run_exec(h, cid, proc)
    assert rc == 5
    assert out.splitlines() == ["33", "33 50", "/var/www", "exec-env"]


def test_exec_missing_command_is_127(h):
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    with pytest.raises(CommandNotFound) as e:
        h.rt.exec(cid, process(["nope-not-here"]), Stdio())
    assert e.value.exit_code == 127


def test_exec_into_stopped_container_fails(h):
    cid, created, r = h.create(["true"])
    h.rt.start(cid)
    os.waitpid(created.pid, 0)
    read_all(r)
    with pytest.raises(InvalidState):
        h.rt.exec(cid, process(["true"]), Stdio())


def test_exec_is_in_the_container_cgroup(h):
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    rc, out = run_exec(h, cid, process(["cat", "/proc/self/cgroup"]))
    assert rc == 0
    # through the cgroup namespace: at the root of the container's own group
    mine = "0::/" if cgroups.V2 else ":memory:/"
    assert any(l.endswith(mine) for l in out.splitlines()), out


def read_pty(master: int) -> str:
    return read_all(master).replace("\r\n", "\n")


def test_terminal_gives_a_tty_with_the_size_set_on_the_master(h):
    cid, created, master = h.create(["sh", "-c", "tty; stty size"], terminal=True)
    assert master is not None
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    h.rt.start(cid)
    _, status = os.waitpid(created.pid, 0)
    out = read_pty(master)
    assert exit_code(status) == 0
    assert out.split() == ["/dev/pts/0", "33", "101"], out


def test_terminal_is_also_the_console(h):
    cid, created, master = h.create(["sh", "-c", "echo to-console > /dev/console; grep ' /dev/console ' /proc/self/mountinfo"],
                                    terminal=True)
    h.rt.start(cid)
    _, status = os.waitpid(created.pid, 0)
    out = read_pty(master)
    assert exit_code(status) == 0, out
    lines = out.splitlines()
    assert lines[0] == "to-console"
    assert lines[1].split()[3] == "/0"  # the pty slave /dev/pts/0, bind-mounted


def test_terminal_input_reaches_the_process(h):
    cid, created, master = h.create(["sh", "-c", "read line; echo got:$line"], terminal=True)
    h.rt.start(cid)
    os.write(master, b"hello\n")
    _, status = os.waitpid(created.pid, 0)
    out = read_pty(master)
    assert "got:hello" in out


def test_exec_with_terminal(h):
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    ex = h.rt.exec(cid, process(["sh", "-c", "tty; stty size"], terminal=True,
                                consoleSize={"height": 20, "width": 70}), Stdio(terminal=True))
    h.pids.append(ex.pid)
    _, status = os.waitpid(ex.pid, 0)
    out = read_pty(ex.pty_master)
    assert exit_code(status) == 0
    lines = out.split()
    assert lines[0].startswith("/dev/pts/") and lines[1:] == ["20", "70"], out


def test_exec_without_capabilities_gets_the_containers(h):
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    proc = process(["sh", "-c", "grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status"])
    del proc["capabilities"]
    rc, out = run_exec(h, cid, proc)
    assert rc == 0
    fields = dict(l.split(":\t") for l in out.splitlines())
    assert fields["CapBnd"] == fields["CapEff"] == f"{mask(DOCKER_CAPS):016x}"
    assert fields["NoNewPrivs"] == "1"
