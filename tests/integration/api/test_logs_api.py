"""Logs through the API: docker logs (tail, -t, --since, -f), frames with and without a tty,
a follower that hangs up, and other requests while one follows."""

import re
import socket
import subprocess
import time

import pytest

from tests.support.api import docker_clis, raw


def get(service, path: str, timeout: float = 10) -> bytes:
    """A GET as the docker CLI sends it (no half-close, which the service takes for a hang-up):
    the whole answer, once the service ends its chunked body."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(service.sock))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        out = b""
        while not out.endswith(b"\r\n0\r\n\r\n") and not (out.startswith(b"HTTP/1.1 4") and b"}" in out):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def _wait_exit(service, name: str) -> None:
    assert service.docker("wait", name).rc == 0


@pytest.mark.parametrize("cli", docker_clis())
def test_logs_keep_stdout_and_stderr_apart(service, cli):
    service.docker("run", "-d", "--name", "l1", "busybox", "sh", "-c",
                   "for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done", cli=cli)
    _wait_exit(service, "l1")
    r = service.docker("logs", "l1", cli=cli)
    assert (r.rc, r.out, r.err) == (0, "out1\nout2\nout3\n", "err1\nerr2\nerr3\n"), r
    r = service.docker("logs", "--tail", "2", "l1", cli=cli)
    assert (r.out, r.err) == ("out3\n", "err3\n"), r
    r = service.docker("logs", "-t", "l1", cli=cli)
    assert re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\d\n){3}", r.out), r


def test_logs_of_a_tty_container_are_raw(service):
    service.docker("run", "-d", "-t", "--name", "lt", "busybox", "echo", "tty-line")
    _wait_exit(service, "lt")
    out = get(service, "/containers/lt/logs?stdout=1&stderr=1")
    assert b"application/vnd.docker.raw-stream" in out and b"tty-line\r\n" in out


def test_logs_since_and_until(service):
    service.docker("run", "-d", "--name", "ls", "busybox", "sh", "-c", "echo early; sleep 2; echo late")
    _wait_exit(service, "ls")
    r = service.docker("logs", "--since", "1s", "ls")
    assert r.out == "" or r.out == "late\n"
    later = time.time() - 1.5
    out = get(service, f"/containers/ls/logs?stdout=1&since={later:.3f}")
    assert b"late" in out and b"early" not in out
    out = get(service, f"/containers/ls/logs?stdout=1&until={later:.3f}")
    assert b"early" in out and b"late" not in out


@pytest.mark.parametrize("cli", docker_clis())
def test_logs_follow_ends_when_the_container_exits(service, cli):
    service.docker("run", "-d", "--name", "lf", "busybox", "sh", "-c",
                   "echo first; sleep 1; echo second; sleep 1; exit 0", cli=cli)
    r = service.docker("logs", "-f", "lf", cli=cli, timeout=30)
    assert (r.rc, r.out) == (0, "first\nsecond\n"), r


def test_a_follower_never_blocks_other_requests_and_its_hang_up_kills_its_child(service):
    service.docker("run", "-d", "--name", "lp", "busybox", "sh", "-c", "while true; do echo x; sleep 0.1; done")
    before = _service_children(service)
    follower = subprocess.Popen(["docker", "logs", "-f", "lp"], env=service.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    try:
        assert follower.stdout.readline() == b"x\n"
        t = time.monotonic()
        r = service.docker("ps")
        assert r.rc == 0 and "lp" in r.out and time.monotonic() - t < 30
        assert _service_children(service) - before  # the follower's child (calls of `run` may end meanwhile)
    finally:
        follower.kill()
        follower.wait()
    deadline = time.monotonic() + 20
    while _service_children(service) - before:
        assert time.monotonic() < deadline, "the follower's child outlived its client"
        time.sleep(0.05)


def _service_children(service) -> set[int]:
    pid = service.proc.pid
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}
    except FileNotFoundError:
        return set()


def test_logs_of_an_unknown_container_is_404_and_bad_queries_400(service):
    assert raw(service, b"GET /containers/nope/logs?stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n").startswith(
        b"HTTP/1.1 404 ")
    service.docker("create", "--name", "lb", "busybox", "true")
    for q in ("", "stdout=1&tail=abc", "stdout=1&since=yesterday", "stdout=1&until=1e99", "stdout=1&since=1.x"):
        out = raw(service, f"GET /containers/lb/logs?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert out.startswith(b"HTTP/1.1 400 "), (q, out)


def test_a_client_that_leaves_mid_follow_leaves_the_service_well(service):
    service.docker("run", "-d", "--name", "lm", "busybox", "sh", "-c", "while true; do echo y; sleep 0.05; done")
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(service.sock))
        s.sendall(b"GET /containers/lm/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096)
        s.close()
    assert service.docker("logs", "--tail", "1", "lm").out == "y\n"


def test_logs_f_right_after_run_d_sees_the_first_line(service):
    # the monitor makes the log file once the container runs: a follower may come first
    for i in range(3):
        assert service.docker("run", "-d", "--name", f"quick{i}", "busybox", "sh", "-c",
                              "echo first; sleep 0.5").rc == 0
        r = service.docker("logs", "-f", f"quick{i}", timeout=30)
        assert (r.rc, r.out) == (0, "first\n"), r
