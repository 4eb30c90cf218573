"""Attach through the API: docker run in the foreground, -i, -it, start -a, attach; raw
hijacks with bad input."""

import os
import socket
import time

import pytest

from tests.support.api import docker_clis
from tests.support.ptys import read_until, set_size, spawn_on_pty


@pytest.mark.parametrize("cli", docker_clis())
def test_run_prints_and_passes_the_exit_code(service, cli):
    r = service.docker("run", "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", cli=cli)
    assert r.rc == 3, r
    assert r.out == "out\n" and r.err == "err\n", r
    assert service.docker("inspect", "-f", "{{.State.ExitCode}}", "fg", cli=cli).out.strip() == "3"


@pytest.mark.parametrize("cli", docker_clis())
def test_run_rm_never_loses_the_output_of_a_quick_container(service, cli):
    for i in range(8):
        r = service.docker("run", "--rm", "busybox", "echo", f"hi{i}", cli=cli)
        assert (r.rc, r.out) == (0, f"hi{i}\n"), r
    assert service.docker("ps", "-aq", cli=cli).out == ""


@pytest.mark.parametrize("cli", docker_clis())
def test_run_i_feeds_piped_stdin_and_its_end(service, cli):
    data = b"".join(b"line %d\n" % i for i in range(2000))
    r = service.docker("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done", cli=cli, input=data)
    assert r.rc == 0, r
    assert r.out == data.decode() + "done\n"


@pytest.mark.parametrize("cli", docker_clis())
def test_run_it_has_a_tty_that_follows_resizes(service, cli):
    env = service.env()
    proc, master = spawn_on_pty([cli, "run", "--rm", "-it", "busybox", "sh"], env, rows=30, cols=100)
    try:
        read_until(master, b"# ", timeout=30)
        time.sleep(0.5)  # the CLI sizes the tty right after the start (ConsoleSize is not used yet)
        os.write(master, b"stty size; tty\n")
        out = read_until(master, b"/dev/pts/", timeout=30)
        assert b"30 100" in out, out
        set_size(master, 40, 120)
        os.kill(proc.pid, 28)  # SIGWINCH: the CLI asks for the resize
        time.sleep(0.5)
        os.write(master, b"stty size\n")
        assert b"40 120" in read_until(master, b"40 120", timeout=15)
        os.write(master, b"exit 5\n")
        assert proc.wait(30) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@pytest.mark.parametrize("cli", docker_clis())
def test_start_a_attaches_to_a_created_container(service, cli):
    assert service.docker("create", "--name", "c1", "busybox", "sh", "-c", "echo started; exit 4", cli=cli).rc == 0
    r = service.docker("start", "-a", "c1", cli=cli)
    assert (r.rc, r.out) == (4, "started\n"), r


@pytest.mark.parametrize("cli", docker_clis())
def test_attach_to_a_running_container_sees_its_output_and_exit(service, cli):
    assert service.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                          "sleep 1; echo tick; sleep 1; exit 7", cli=cli).rc == 0
    r = service.docker("attach", "ticker", cli=cli)
    assert r.rc == 7 and "tick" in r.out, r


def test_attach_from_the_api_waits_for_a_start_by_the_sampan_cli(service):
    service.cli("create", "--name", "late", "busybox", "echo", "from-cli-start")
    client = service.client()
    try:
        c = client.containers.get("late")
        sock = c.attach_socket(params={"stdout": 1, "stderr": 1, "stream": 1})
        raw = sock._sock
        time.sleep(0.3)
        service.cli("start", "late")
        raw.settimeout(20)
        data = b""
        while True:
            chunk = raw.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data == b"\x01\x00\x00\x00\x00\x00\x00\x0ffrom-cli-start\n"
    finally:
        client.close()


def _hijack(service, path: str, extra: bytes = b"") -> socket.socket:
    """A raw attach with Upgrade: tcp; the answer's head is in .head."""
    s = _Sock(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(str(service.sock))
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
              "Content-Length: 0\r\n\r\n".encode() + extra)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    s.head = head
    return s


class _Sock(socket.socket):
    head = b""


def _read_all(s: socket.socket) -> bytes:
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def test_attach_to_an_unknown_container_is_404(service):
    s = _hijack(service, "/v1.41/containers/nope/attach?stream=1&stdout=1")
    with s:
        assert s.head.startswith(b"HTTP/1.1 404 "), s.head


def test_garbage_on_a_hijacked_stdin_reaches_the_container_as_bytes(service):
    service.docker("create", "-i", "--name", "gg", "busybox", "wc", "-c")
    s = _hijack(service, "/v1.41/containers/gg/attach?stream=1&stdin=1&stdout=1&stderr=1")
    with s:
        assert s.head.startswith(b"HTTP/1.1 101 "), s.head
        s.sendall(bytes(range(256)) * 4)
        assert service.docker("start", "gg").rc == 0
        s.shutdown(socket.SHUT_WR)
        out = _read_all(s)
    assert out[:8] == b"\x01\x00\x00\x00\x00\x00\x00\x05" and out[8:].strip() == b"1024", out
    assert service.docker("wait", "gg").out.strip() == "0"


def test_a_client_that_leaves_mid_stream_does_not_stop_the_container(service):
    service.docker("run", "-d", "--name", "chatty", "busybox", "sh", "-c", "while true; do echo x; sleep 0.05; done")
    s = _hijack(service, "/v1.41/containers/chatty/attach?stream=1&stdout=1")
    assert s.head.startswith(b"HTTP/1.1 101 ")
    assert s.recv(100)
    s.close()
    time.sleep(0.5)
    assert service.docker("inspect", "-f", "{{.State.Running}}", "chatty").out.strip() == "true"
    assert service.docker("ps", "-q").rc == 0


@pytest.mark.parametrize("h,w", [("-1", "80"), ("24", "x"), ("70000", "80")])
def test_bad_resize_values_are_400(service, h, w):
    service.docker("run", "-d", "-t", "--name", "rs", "busybox", "sleep", "30")
    from tests.support.api import raw
    out = raw(service, f"POST /containers/rs/resize?h={h}&w={w} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
              .encode())
    assert out.startswith(b"HTTP/1.1 400 "), out


def test_an_attach_waiting_on_a_container_that_is_removed_ends(service):
    service.docker("create", "--name", "never", "busybox", "true")
    s = _hijack(service, "/v1.41/containers/never/attach?stream=1&stdout=1")
    with s:
        assert s.head.startswith(b"HTTP/1.1 101 ")
        assert service.docker("rm", "never").rc == 0
        assert _read_all(s) == b""
    waiters = [n for n in os.listdir(service.runroot / "a") if ".w" in n]
    assert waiters == []


def test_attach_with_logs_replays_the_log(service):
    # raw, not docker-py: docker-py reads the stream past http.client's buffer, which may hold
    # bytes that came with the 101 (a race of the client's, with Docker's daemon too)
    service.docker("run", "--name", "done", "busybox", "sh", "-c", "echo one; sleep 0.1; echo two >&2")
    s = _hijack(service, "/v1.41/containers/done/attach?logs=1&stdout=1&stderr=1")
    with s:
        assert s.head.startswith(b"HTTP/1.1 101 ")
        out = _read_all(s)
    assert out == b"\x01\x00\x00\x00\x00\x00\x00\x04one\n\x02\x00\x00\x00\x00\x00\x00\x04two\n"


def test_a_dead_waiter_is_ignored_and_cleared_by_the_start(service):
    r = service.docker("create", "--name", "dw", "busybox", "echo", "ok")
    cid = r.out.strip()
    stale = service.runroot / "a" / f"{cid[:16]}.w999999"
    stale.parent.mkdir(exist_ok=True)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: as a waiter that died
    r = service.docker("start", "-a", "dw")
    assert (r.rc, r.out) == (0, "ok\n"), r
    assert not stale.exists()


def test_docker_py_run_in_the_foreground(service):
    client = service.client()
    try:
        for i in range(5):  # it asks for the logs, waits, removes the container, then reads them
            assert client.containers.run("busybox", ["echo", f"from-py{i}"], remove=True) == f"from-py{i}\n".encode()
    finally:
        client.close()


def test_run_it_detaches_on_ctrl_p_ctrl_q_and_the_container_runs_on(service):
    proc, master = spawn_on_pty(["docker", "run", "-it", "--name", "det", "busybox", "sh"], service.env())
    try:
        read_until(master, b"# ", timeout=30)
        os.write(master, b"\x10\x11")
        assert proc.wait(15) == 0
        time.sleep(0.3)
        assert service.docker("inspect", "-f", "{{.State.Running}}", "det").out.strip() == "true"
        r = service.docker("exec", "det", "echo", "still-here")
        assert r.out == "still-here\n", r
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_every_waiting_attach_gets_the_output_of_a_cli_start_a(service):
    service.cli("create", "--name", "many", "busybox", "sh", "-c", "echo to-all; exit 2")
    socks = [_hijack(service, "/v1.41/containers/many/attach?stream=1&stdout=1") for _ in range(3)]
    try:
        assert all(s.head.startswith(b"HTTP/1.1 101 ") for s in socks)
        r = service.cli("start", "-a", "many", check=False)
        assert r.out == "to-all\n" and r.rc == 2, r
        for s in socks:
            assert _read_all(s) == b"\x01\x00\x00\x00\x00\x00\x00\x07to-all\n"
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize("cli", docker_clis())
def test_start_a_again_after_an_exit_prints_again(service, cli):
    assert service.docker("run", "--name", "again", "busybox", "echo", "once-more", cli=cli).out == "once-more\n"
    for _ in range(2):
        r = service.docker("start", "-a", "again", cli=cli)
        assert (r.rc, r.out) == (0, "once-more\n"), r


def _c_monitor_or_skip():
    from sampan.engine import cmonitor_build
    if cmonitor_build.compiler() is None:
        pytest.skip("no C compiler: no C idle monitor")


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_attach_as_the_container_exits_gets_its_exit_code(service, cli, tmp_path):
    """Under the C idle monitor: an attach that reaches the monitor after the exit, before the
    exit is recorded, ends with the container's code (the stream ends, the wait tells); once
    recorded, the docker CLI refuses a stopped container as with Docker."""
    import subprocess

    from tests.support.exit_window import exit_not_recorded, gated_container, queued
    from tests.support.polling import poll
    _c_monitor_or_skip()
    cid, gate = gated_container(service.cli, tmp_path, "late")
    sock = str(service.runroot / "a" / (cid[:16] + ".sock"))
    with exit_not_recorded(service.root, cid, gate):
        late = subprocess.Popen([cli, "attach", "late"], env=service.env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert poll(lambda: queued(sock) == 1 or late.poll() is not None)
    out, err = late.communicate(timeout=30)
    # the CLI inspects first: it reached the monitor (the stream ends, the wait tells 3), or
    # its inspect already saw the container stopped (its process is gone) and it refused
    refused = (1, b"You cannot attach to a stopped container, start it first\n")
    assert (late.returncode, err) in ((3, b""), refused), err
    assert poll(lambda: service.cli.ok("inspect", "-f", "{{.State.Status}}", "late").strip() == "exited")
    r = service.docker("attach", "late", cli=cli)
    assert (r.rc, r.err) == (1, refused[1].decode()), r
    service.cli.ok("rm", "late")


def test_docker_py_attach_as_the_container_exits_ends_and_wait_gives_the_code(service, tmp_path):
    import threading

    from tests.support.exit_window import exit_not_recorded, gated_container, queued
    from tests.support.polling import poll
    _c_monitor_or_skip()
    cid, gate = gated_container(service.cli, tmp_path, "late")
    sock = str(service.runroot / "a" / (cid[:16] + ".sock"))
    client = service.client()
    try:
        got: list = []
        with exit_not_recorded(service.root, cid, gate):
            box = client.containers.get("late")
            stream = box.attach(stream=True, stdout=True, stderr=True)
            reader = threading.Thread(target=lambda: got.extend(stream))
            reader.start()
            assert poll(lambda: queued(sock) == 1)
        reader.join(timeout=30)
        assert not reader.is_alive()  # the stream ended
        assert got == []  # (its output came before this client did)
        assert box.wait(timeout=30)["StatusCode"] == 3
    finally:
        client.close()
    service.cli.ok("rm", "late")
