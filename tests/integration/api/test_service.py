"""The service as a process: many clients at once, silent clients, signals, --time,
one service per socket, stale sockets, systemd's socket activation (LISTEN_FDS).
After each test no process forked by the service is left (checked in /proc)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from tests.support.api import no_service_process_left, service_processes

from tests.support.cli import SAMPAN


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def request(path: str, method: str, url: str, body=None) -> tuple[int, object]:
    c = UnixHTTP(path)
    try:
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, url, body=data, headers={"Content-Type": "application/json"} if data else {})
        r = c.getresponse()
        raw = r.read()
        if r.getheader("Content-Type", "").startswith("application/json"):
            return r.status, json.loads(raw)
        return r.status, raw
    finally:
        c.close()


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Proc:
    """`sampan system service` started by the test with its own arguments."""

    def __init__(self, sampan, *args: str, env: dict | None = None, sock=None, **popen) -> None:
        self.sampan = sampan
        self.sock = str(sock or sampan.runroot / "api.sock")
        self.log = sampan.runroot.parent / f"service-{time.monotonic_ns()}.log"
        argv = SAMPAN + ["--root", str(sampan.root), "--runroot", str(sampan.runroot), "system", "service", *args]
        with open(self.log, "wb") as log:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      env=dict(os.environ, SAMPAN_NO_ZYGOTE="1", **(env or {})), **popen)

    def wait_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.p.poll() is None, f"service exited {self.p.returncode}: {self.output()}"
            try:
                if request(self.sock, "GET", "/_ping")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("the service did not answer within 20 s")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        assert "Traceback" not in self.output(), self.output()


@pytest.fixture
def procs(sampan):
    started: list[Proc] = []

    def start(*args, **kw) -> Proc:
        p = Proc(sampan, *args, **kw)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()
    no_service_process_left(sampan.root)


def test_fifty_clients_at_once_are_all_answered(sampan, procs):
    svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
    svc.wait_listening()
    answers: list[tuple[str, int, object]] = []
    lock = threading.Lock()

    def lister():
        status, body = request(svc.sock, "GET", "/v1.41/containers/json?all=1")
        with lock:
            answers.append(("list", status, body))

    def creator():
        status, body = request(svc.sock, "POST", "/v1.41/containers/create",
                               {"Image": "busybox", "Cmd": ["true"]})
        with lock:
            answers.append(("create", status, body))

    threads = [threading.Thread(target=lister if i % 2 else creator) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(answers) == 50
    bad = [a for a in answers if a[1] not in (200, 201)]
    assert not bad, bad[:3]
    assert all(isinstance(body, list) for kind, _, body in answers if kind == "list")
    ids = {body["Id"] for kind, _, body in answers if kind == "create"}
    assert len(ids) == 25
    status, listed = request(svc.sock, "GET", "/containers/json?all=1")
    mine = [c for c in listed if c["Id"] in ids]
    names = [c["Names"][0] for c in mine]
    assert len(mine) == 25 and len(set(names)) == 25, names
    # every call's child is gone once its answer is out
    deadline = time.monotonic() + 5
    while children_of(svc.p.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children_of(svc.p.pid) == []


def test_a_silent_client_blocks_nobody_and_is_closed_after_the_idle_timeout(sampan, procs):
    svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}", env={"SAMPAN_API_IDLE_CONNECTION": "2"})
    svc.wait_listening()
    silent = socket.socket(socket.AF_UNIX)
    partial = socket.socket(socket.AF_UNIX)
    try:
        silent.connect(svc.sock)
        partial.connect(svc.sock)
        partial.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n")   # a head never finished
        began = time.monotonic()
        assert request(svc.sock, "GET", "/version")[0] == 200
        assert time.monotonic() - began < 1.5   # answered while both hang
        for s in (silent, partial):
            s.settimeout(10)
            assert s.recv(100) == b""            # the service hung up on it
        assert 1.5 < time.monotonic() - began < 8
    finally:
        silent.close()
        partial.close()
    assert request(svc.sock, "GET", "/_ping")[0] == 200


def test_sigterm_stops_the_service_and_removes_its_socket(sampan, procs):
    svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
    svc.wait_listening()
    mode = os.stat(svc.sock)
    assert stat.S_ISSOCK(mode.st_mode) and stat.S_IMODE(mode.st_mode) == 0o660 and mode.st_uid == 0
    svc.p.send_signal(signal.SIGTERM)
    assert svc.p.wait(10) == 0
    assert not os.path.exists(svc.sock)


def test_time_exits_after_that_many_idle_seconds(sampan, procs):
    svc = procs("--time", "1", f"unix://{sampan.runroot / 'api.sock'}")
    svc.wait_listening()
    began = time.monotonic()
    # a client still connected keeps it alive
    with socket.socket(socket.AF_UNIX) as held:
        held.connect(svc.sock)
        time.sleep(2.5)
        assert svc.p.poll() is None
    assert svc.p.wait(10) == 0
    # not before the held connection closed (its idle clock may have started before `began`)
    assert time.monotonic() - began >= 2.5
    assert not os.path.exists(svc.sock)


def test_a_second_service_on_the_same_socket_is_refused_with_one_line(sampan, procs):
    first = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
    first.wait_listening()
    second = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
    assert second.p.wait(30) != 0
    lines = second.output().strip().splitlines()
    assert lines == [f"sampan: a service already listens on {first.sock}"], lines
    assert request(first.sock, "GET", "/_ping")[0] == 200


def test_a_stale_socket_file_is_replaced(sampan, procs):
    path = str(sampan.runroot / "api.sock")
    os.makedirs(sampan.runroot, exist_ok=True)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(path)   # bound, never listened: what a killed service leaves
    svc = procs("--time", "0", f"unix://{path}")
    svc.wait_listening()
    assert request(path, "GET", "/version")[0] == 200


def test_socket_activation_serves_the_inherited_socket_and_leaves_it(sampan, procs, tmp_path):
    """As systemd starts it from contrib/sampan.socket: the listening socket on fd 3,
    LISTEN_PID naming the service's pid, LISTEN_FDS=1. A client that connected before
    the service started is answered; the socket file is the unit's, left on exit."""
    path = str(tmp_path / "activated.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    early = socket.socket(socket.AF_UNIX)
    try:
        early.connect(path)   # queued in the kernel before any service runs
        early.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        fd = listener.fileno()
        exec_as_systemd = ("import os, sys; fd = int(sys.argv[1]); os.dup2(fd, 3); os.close(fd); "
                           "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
                           "os.execv(sys.executable, [sys.executable] + sys.argv[2:])")
        argv = [sys.executable, "-c", exec_as_systemd, str(fd)] + SAMPAN[1:] + [
            "--root", str(sampan.root), "--runroot", str(sampan.runroot), "system", "service", "--time", "0"]
        log = tmp_path / "activated.log"
        with open(log, "wb") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, pass_fds=(fd,),
                                 env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"))
        try:
            early.settimeout(20)
            assert early.recv(4096).startswith(b"HTTP/1.1 200 OK")
            assert request(path, "GET", "/v1.41/containers/json")[0] == 200
            assert f"unix://{path}" in log.read_text()
            assert not (sampan.runroot / "sampan.sock").exists()   # it made no socket of its own
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(10) == 0
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600   # the unit's file, untouched
        # the socket still listens (systemd keeps it): a connection waits for the next start
        with socket.socket(socket.AF_UNIX) as again:
            again.connect(path)
        assert "Traceback" not in log.read_text()
    finally:
        early.close()
        listener.close()


def test_listen_fds_for_another_process_is_ignored(sampan, procs):
    """LISTEN_PID names another process (the variables leaked from a parent): the
    service makes its own socket as usual."""
    svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}",
                env={"LISTEN_PID": "1", "LISTEN_FDS": "1"})
    svc.wait_listening()
    assert os.path.exists(svc.sock)


def test_sigterm_with_calls_in_flight_leaves_no_child(sampan, procs):
    """A client blocked in `wait` on a running container holds a child of the service:
    SIGTERM ends the service and that child, and the container goes on."""
    svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
    svc.wait_listening()
    status, body = request(svc.sock, "POST", "/containers/create?name=long", {"Image": "busybox", "Cmd": ["sleep", "300"]})
    assert status == 201
    assert request(svc.sock, "POST", "/containers/long/start")[0] == 204
    waiter = socket.socket(socket.AF_UNIX)
    try:
        waiter.connect(svc.sock)
        waiter.sendall(b"POST /containers/long/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        waiter.settimeout(20)
        assert waiter.recv(4096).startswith(b"HTTP/1.1 200 ")   # the wait is in place
        assert children_of(svc.p.pid) != []
        svc.p.send_signal(signal.SIGTERM)
        assert svc.p.wait(15) == 0
        deadline = time.monotonic() + 5
        while service_processes(sampan.root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service_processes(sampan.root) == []
    finally:
        waiter.close()
    assert "Up " in sampan.ok("ps", "--filter", "name=long", "--format", "{{.Status}}")


@pytest.mark.parametrize("fds, what", [("1", "file"), ("2", "socket")])
def test_a_bad_inherited_socket_is_one_line(sampan, tmp_path, fds, what):
    """LISTEN_PID names the service but fd 3 is a plain file, or systemd passed two
    sockets: one line, no traceback, nothing made."""
    target = tmp_path / "not-a-socket"
    target.write_text("")
    if what == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(tmp_path / "s.sock"))
        s.listen(1)
        fd = s.fileno()
    else:
        s = None
        fd = os.open(target, os.O_RDONLY)
    try:
        code = ("import os, sys; fd = int(sys.argv[1]); os.dup2(fd, 3); os.close(fd); "
                "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS=sys.argv[2]); "
                "os.execv(sys.executable, [sys.executable] + sys.argv[3:])")
        p = subprocess.run([sys.executable, "-c", code, str(fd), fds] + SAMPAN[1:] + [
            "--root", str(sampan.root), "--runroot", str(sampan.runroot), "system", "service", "--time", "0"],
            capture_output=True, text=True, pass_fds=(fd,), timeout=30, stdin=subprocess.DEVNULL,
            env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"))
    finally:
        if s is not None:
            s.close()
        else:
            os.close(fd)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sampan: "), p.stderr
    assert ("not a socket" in lines[0] or "unusable" in lines[0]) if what == "file" else "2 sockets" in lines[0]
    assert not (sampan.runroot / "sampan.sock").exists()


def test_the_socket_belongs_to_the_sampan_group_when_it_exists(sampan, procs):
    import grp
    made = False
    try:
        grp.getgrnam("sampan")
    except KeyError:
        subprocess.run(["groupadd", "--system", "sampan"], check=True, capture_output=True)
        made = True
    try:
        gid = grp.getgrnam("sampan").gr_gid
        svc = procs("--time", "0", f"unix://{sampan.runroot / 'api.sock'}")
        svc.wait_listening()
        st = os.stat(svc.sock)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, gid, 0o660)
    finally:
        if made:
            subprocess.run(["groupdel", "sampan"], capture_output=True)
