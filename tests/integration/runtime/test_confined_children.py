"""A runtime's forked children carry nothing of their caller's into a container: no
descriptor (an inheritable one used to survive execve, and every one was reachable
through /proc until then), no working directory reached through one (CVE-2024-21626),
no controlling terminal. Over both runtimes."""

from __future__ import annotations

import os

import pytest

from sampan.errors import SampanError
from sampan.runtime.base import Stdio
from tests.integration.runtime.conftest import exit_code, read_all
from tests.integration.runtime.test_exec_tty import process, run_exec


@pytest.fixture
def host_fds(tmp_path):
    """A host file and a host directory, open and inheritable in the caller (as a careless
    embedding program or a shell redirection would leave them)."""
    secret = tmp_path / "host-secret"
    secret.write_text("host-only\n")
    (tmp_path / "host-dir-marker").write_text("x")
    f = os.open(secret, os.O_RDWR)
    d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    for fd in (f, d):
        os.set_inheritable(fd, True)
    yield f, d, secret
    os.close(f)
    os.close(d)


def _listing(out: str) -> dict[str, str]:
    """`ls -l /proc/$$/fd` output -> {fd: target}."""
    found = {}
    for line in out.splitlines():
        if " -> " in line:
            left, _, target = line.partition(" -> ")
            found[left.split()[-1]] = target
    return found


FDS = "ls -l /proc/$$/fd; echo $$ $(cut -d' ' -f6 /proc/$$/stat)"


def test_exec_holds_no_descriptor_of_the_callers(h, host_fds):
    f, d, secret = host_fds
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    rc, out = run_exec(h, cid, process(["sh", "-c", FDS]))
    assert rc == 0, out
    fds = _listing(out)
    assert set(fds) == {"0", "1", "2"}, fds
    assert str(secret) not in out and str(secret.parent) not in out
    pid, sid = out.split()[-2:]
    assert pid == sid, "the exec'd process must lead a session of its own"


def test_init_holds_no_descriptor_of_the_callers(h, host_fds):
    f, d, secret = host_fds
    rc, out = h.run(["sh", "-c", FDS])
    assert rc == 0, out
    assert set(_listing(out)) == {"0", "1", "2"}, out
    assert out.split()[-2:] == ["1", "1"]


def test_exec_cannot_start_in_a_directory_of_the_hosts(h, host_fds):
    """cwd /proc/self/fd/N, N a host directory the runtime's child held: the process would
    start outside the container's root (runc's CVE-2024-21626)."""
    f, d, secret = host_fds
    cid, created, r = h.create(["sleep", "100"])
    h.rt.start(cid)
    for n in sorted({d, 3, 4, 5, 6, 7, 8}):
        try:
            rc, out = run_exec(h, cid, process(["sh", "-c", "pwd; ls"], cwd=f"/proc/self/fd/{n}"))
        except SampanError:
            continue  # refused: fine
        assert "host-dir-marker" not in out and "host-secret" not in out, (n, out)


def test_exec_stdio_given_is_all_it_gets(h, tmp_path):
    """The runtime passes on exactly the Stdio it is given (here a pipe and /dev/null)."""
    cid, created, r0 = h.create(["sleep", "100"])
    h.rt.start(cid)
    r, w = os.pipe()
    try:
        ex = h.rt.exec(cid, process(["sh", "-c", "for n in 0 1 2; do readlink /proc/$$/fd/$n; done"]),
                       Stdio(stdout=w))
    finally:
        os.close(w)
    h.pids.append(ex.pid)
    _, status = os.waitpid(ex.pid, 0)
    out = read_all(r)
    assert exit_code(status) == 0
    assert out.split()[0] == "/dev/null" and out.split()[1].startswith("pipe:") and out.split()[2] == "/dev/null"
