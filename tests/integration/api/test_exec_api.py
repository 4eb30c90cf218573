"""Exec through the API: docker exec (plain, -i, -it, -d), exit codes, docker-py's exec_run,
inspect, and bad input."""

import json
import os
import time

import pytest

from tests.support.api import docker_clis, raw
from tests.support.ptys import output_until_exit, read_until, spawn_on_pty


@pytest.fixture
def box(service):
    assert service.docker("run", "-d", "--name", "box", "busybox", "sleep", "300").rc == 0
    return "box"


def _post(service, path: str, body=None) -> tuple[int, dict | None]:
    data = json.dumps(body).encode() if body is not None else b""
    out = raw(service, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    head, _, rest = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(rest) if rest.strip().startswith(b"{") else None


@pytest.mark.parametrize("cli", docker_clis())
def test_exec_output_streams_and_exit_code(service, box, cli):
    r = service.docker("exec", box, "sh", "-c", "echo out; echo err >&2; exit 6", cli=cli)
    assert (r.rc, r.out, r.err) == (6, "out\n", "err\n"), r


@pytest.mark.parametrize("cli", docker_clis())
def test_exec_exit_code_is_right_every_time(service, box, cli):
    for code in (0, 1, 2, 42):
        assert service.docker("exec", box, "sh", "-c", f"exit {code}", cli=cli).rc == code


@pytest.mark.parametrize("cli", docker_clis())
def test_exec_i_pipes_stdin(service, box, cli):
    data = b"".join(b"%d\n" % i for i in range(5000))
    r = service.docker("exec", "-i", box, "wc", "-l", cli=cli, input=data)
    assert (r.rc, r.out.strip()) == (0, "5000"), r


def test_exec_it_has_a_sized_tty(service, box):
    proc, master = spawn_on_pty(["docker", "exec", "-it", box, "sh"], service.env(), rows=33, cols=111)
    try:
        read_until(master, b"# ", timeout=30)
        os.write(master, b"tty; stty size; exit 9\n")
        rc, out = output_until_exit(proc, master)
        assert rc == 9, out
        assert "/dev/pts/" in out and "33 111" in out, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_exec_d_runs_in_the_background(service, box):
    assert service.docker("exec", "-d", box, "sh", "-c", "sleep 0.3; touch /tmp/done").rc == 0
    deadline = time.monotonic() + 10
    while service.docker("exec", box, "test", "-e", "/tmp/done").rc != 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_docker_py_exec_run_and_inspect(service, box):
    client = service.client()
    try:
        c = client.containers.get(box)
        for _ in range(5):  # docker-py reads past its HTTP buffer: no output may come with the 101
            code, out = c.exec_run(["sh", "-c", "echo hi; exit 3"])
            assert (code, out) == (3, b"hi\n")
        eid = client.api.exec_create(box, ["sh", "-c", "exit 4"])["Id"]
        info = client.api.exec_inspect(eid)
        assert info["Running"] is False and info["ExitCode"] is None and info["ContainerID"].startswith(c.id)
        client.api.exec_start(eid)
        info = client.api.exec_inspect(eid)
        assert info["ExitCode"] == 4 and info["Pid"] > 0
        assert info["ProcessConfig"] == {"tty": False, "entrypoint": "sh", "arguments": ["-c", "exit 4"],
                                         "privileged": False, "user": ""}
    finally:
        client.close()


def test_exec_on_a_stopped_container_is_409(service):
    assert service.docker("create", "--name", "idle", "busybox", "true").rc == 0
    status, body = _post(service, "/containers/idle/exec", {"Cmd": ["true"]})
    assert status == 409 and "not running" in body["message"]
    r = service.docker("exec", "idle", "true")
    assert r.rc != 0 and "not running" in r.err


def test_unknown_exec_is_404(service):
    for path in ("/exec/nope/start", "/exec/nope/resize?h=1&w=1"):
        status, body = _post(service, path, {})
        assert status == 404 and "No such exec" in body["message"], (path, status, body)
    out = raw(service, b"GET /exec/nope/json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404 ")


@pytest.mark.parametrize("body", [
    {"Cmd": []}, {"Cmd": "x" * 0}, {"Cmd": [1, 2]}, {"Cmd": ["true"], "Env": "A=1"},
    {"Cmd": ["true"], "Tty": "yes"}, {"Cmd": ["true"], "WorkingDir": "relative"}, [1], "text",
    {"Cmd": ["true"], "ConsoleSize": [1]}, {"Cmd": ["true"], "ConsoleSize": [-1, 5]},
    {"Cmd": ["true"], "ConsoleSize": "24x80"}])
def test_bad_exec_configs_are_400(service, box, body):
    status, reply = _post(service, f"/containers/{box}/exec", body)
    assert status == 400 and reply["message"], (body, status, reply)


def test_bad_exec_resize_and_second_start(service, box):
    status, body = _post(service, f"/containers/{box}/exec", {"Cmd": ["true"], "AttachStdout": True})
    eid = body["Id"]
    assert _post(service, f"/exec/{eid}/resize?h=-2&w=3")[0] == 400
    assert _post(service, f"/exec/{eid}/resize?h=abc&w=3")[0] == 400
    assert _post(service, f"/exec/{eid}/start", {"Detach": "no"})[0] == 400
    assert _post(service, f"/exec/{eid}/start", {"Detach": True})[0] == 200
    status, body = _post(service, f"/exec/{eid}/start", {"Detach": True})
    assert status == 409, body


@pytest.mark.parametrize("cli", docker_clis())
def test_exec_user_workdir_and_env(service, box, cli):
    r = service.docker("exec", "-u", "65534", "-w", "/tmp", "-e", "A=from-exec", box, "sh", "-c",
                       "id -u; pwd; echo $A", cli=cli)
    assert (r.rc, r.out) == (0, "65534\n/tmp\nfrom-exec\n"), r


def test_an_exec_whose_client_leaves_runs_on_and_its_exit_code_is_kept(service, box):
    import socket
    status, body = _post(service, f"/containers/{box}/exec", {
        "Cmd": ["sh", "-c", "for i in $(seq 20); do echo x; sleep 0.05; done; exit 3"], "AttachStdout": True})
    eid = body["Id"]
    data = json.dumps({"Detach": False}).encode()
    with socket.socket(socket.AF_UNIX) as s:  # no Upgrade header: a raw 200 stream
        s.settimeout(20)
        s.connect(str(service.sock))
        s.sendall(f"POST /exec/{eid}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"multiplexed-stream" in first
    deadline = time.monotonic() + 15
    while True:
        out = raw(service, f"GET /exec/{eid}/json HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        info = json.loads(out.partition(b"\r\n\r\n")[2])
        if not info["Running"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert info["ExitCode"] == 3


def test_a_detached_exec_records_its_exit_code(service, box):
    client = service.client()
    try:
        eid = client.api.exec_create(box, ["sh", "-c", "sleep 0.2; exit 12"])["Id"]
        assert client.api.exec_start(eid, detach=True) == ""
        assert client.api.exec_inspect(eid)["Running"] is True
        deadline = time.monotonic() + 10
        while (info := client.api.exec_inspect(eid))["Running"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert info["ExitCode"] == 12
    finally:
        client.close()


def test_exec_start_with_a_body_that_is_not_json_is_400(service, box):
    status, body = _post(service, f"/containers/{box}/exec", {"Cmd": ["true"]})
    eid = body["Id"]
    out = raw(service, f"POST /exec/{eid}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: 9\r\n\r\n{not json".encode())
    assert out.startswith(b"HTTP/1.1 400 ")
    # the exec was not started: it can be started now
    assert _post(service, f"/exec/{eid}/start", {"Detach": True})[0] == 200


@pytest.mark.parametrize("cli", docker_clis())
def test_exec_of_a_missing_command_says_so_with_127(service, box, cli):
    r = service.docker("exec", box, "no-such-command", cli=cli)
    assert r.rc == 127 and "no-such-command" in r.out + r.err, r
