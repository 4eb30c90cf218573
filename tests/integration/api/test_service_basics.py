"""The service's own behaviour: version negotiation, errors, bad input, one state with the CLI."""

import json
import socket

import pytest

from tests.support.api import docker_clis, raw



def test_ping_names_the_api_version(service):
    out = raw(service, b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Api-Version: 1.50\r\n" in out and out.endswith(b"OK")


def test_versions_outside_the_range_are_refused_with_a_message(service):
    old = raw(service, b"GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert old.startswith(b"HTTP/1.1 400 ") and b"too old" in old
    new = raw(service, b"GET /v9.99/version HTTP/1.1\r\nHost: x\r\n\r\n")
    assert new.startswith(b"HTTP/1.1 400 ") and b"too new" in new


def test_garbage_fails_that_request_and_the_service_goes_on(service):
    out = raw(service, b"\x00\x01garbage\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ")
    bad_json = raw(service, b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 5\r\n\r\n{nope")
    assert bad_json.startswith(b"HTTP/1.1 400 ") and b"invalid JSON" in bad_json
    assert raw(service, b"DELETE /_ping HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert raw(service, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert raw(service, b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200 OK")


def test_a_huge_json_body_is_refused_without_reading_it_all(service):
    head = (b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (1 << 30))
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(20)
        s.connect(str(service.sock))
        s.sendall(head)
        chunk = b"[" * (1 << 20)
        answer = b""
        try:
            for _ in range(64):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            pass
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_errors_carry_docker_statuses_and_messages(service):
    out = raw(service, b"GET /v1.41/containers/nope/json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 404 ")
    body = json.loads(out.split(b"\r\n\r\n", 1)[1])
    assert "nope" in body["message"]


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_run_detached_shows_in_sampan_ps_and_back(service, cli):
    r = service.docker("run", "-d", "--name", "api-made", "busybox", "sleep", "30", cli=cli)
    assert r.rc == 0, r.err
    cid = r.out.strip()
    assert cid in service.cli.ok("ps", "-q", "--no-trunc")
    service.cli.ok("run", "-d", "--name", "cli-made", "busybox", "sleep", "30")
    names = service.docker("ps", "--format", "{{.Names}}", cli=cli).out.split()
    assert sorted(names) == ["api-made", "cli-made"]
    assert service.docker("rm", "-f", "api-made", "cli-made", cli=cli).rc == 0
    assert service.cli.ok("ps", "-aq") == ""


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_info_and_version_read_the_engine(service, cli):
    info = service.docker("info", "--format", "{{json .}}", cli=cli)
    assert info.rc == 0, info.err
    got = json.loads(info.out)
    assert got["Images"] == 1 and got["OSType"] == "linux"
    assert "native" in got["Runtimes"] and got["DockerRootDir"] == str(service.root)
    version = service.docker("version", "--format", "{{.Server.APIVersion}}", cli=cli)
    assert version.rc == 0 and version.out.strip() == "1.50", version.err


@pytest.mark.parametrize("cli", docker_clis())
def test_a_command_that_cannot_start_exits_127_or_126_and_leaves_nothing(service, cli):
    for argv, code, words in ((["nope"], 127, "executable file not found"), (["/etc/passwd"], 126, "permission denied")):
        r = service.docker("run", "--rm", "busybox", *argv, cli=cli)
        assert r.rc == code and words in r.err, (argv, r.rc, r.err)
        # the wait got its answer (a cut stream is "unexpected EOF"; CLI 20.10 says "context
        # canceled" for its own cancelled wait, against dockerd too)
        assert "unexpected EOF" not in r.err, r.err
    assert service.cli.ok("ps", "-aq") == ""


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_system_df_and_prune(service, cli, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo cached > /c\n")
    service.cli.ok("build", "-q", str(tmp_path))  # untagged: dangling, for prune to take
    assert len(service.cli.ok("images", "-q").split()) == 2
    service.docker("create", "--name", "stale", "busybox", "true", cli=cli)
    df = service.docker("system", "df", cli=cli)
    assert df.rc == 0 and "Images" in df.out and "Containers" in df.out, df.err
    r = service.docker("system", "prune", "-f", cli=cli)
    assert r.rc == 0, r.err
    assert "stale" not in service.cli.ok("ps", "-a", "--format", "{{.Names}}")
    assert service.cli.ok("images", "--format", "{{.Repository}}").split() == ["busybox"]
