"""The API over TCP: only with TLS and a client certificate signed by the service's CA."""

import os
import socket
import ssl
import subprocess
import time

import pytest

from tests.support.cli import SAMPAN
from tests.support.net import free_port


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """A CA, a server certificate for 127.0.0.1, a client certificate, and a stranger's
    client certificate from another CA."""
    d = tmp_path / "pki"
    d.mkdir()
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                 "-keyout", f"{ca}-key.pem", "-out", f"{ca}.pem", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    for name, ca, ext in (("server", "ca", "ext.cnf"), ("client", "ca", "client.cnf"),
                          ("stranger", "other-ca", "client.cnf")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem",
                 "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
                 "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=d)
    return d


@pytest.fixture
def tls_service(sampan, pki):
    port = free_port()
    log = sampan.runroot.parent / "tls-service.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            SAMPAN + ["--root", str(sampan.root), "--runroot", str(sampan.runroot), "system", "service",
                      "--time", "0", "--tlscacert", str(pki / "ca.pem"), "--tlscert", str(pki / "server.pem"),
                      "--tlskey", str(pki / "server-key.pem"), f"unix://{sampan.runroot}/api.sock",
                      f"tcp://127.0.0.1:{port}"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=dict(os.environ, SAMPAN_NO_ZYGOTE="1"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)
    assert "Traceback" not in log.read_text(), log.read_text()


def docker_tls(port, pki, *args, cert="client"):
    env = dict(os.environ, DOCKER_CONFIG=str(pki))
    env.pop("DOCKER_HOST", None)
    return subprocess.run(["docker", "--tlsverify", "--tlscacert", str(pki / "ca.pem"), "--tlscert",
                           str(pki / f"{cert}.pem"), "--tlskey", str(pki / f"{cert}-key.pem"), "-H",
                           f"tcp://127.0.0.1:{port}", *args], capture_output=True, text=True, timeout=60, env=env)


def test_docker_cli_over_tls_with_a_client_certificate(tls_service, pki):
    r = docker_tls(tls_service, pki, "run", "--rm", "busybox", "echo", "over tls")
    assert (r.returncode, r.stdout) == (0, "over tls\n"), r.stderr
    r = docker_tls(tls_service, pki, "run", "-d", "--name", "tlsbox", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    r = docker_tls(tls_service, pki, "exec", "tlsbox", "echo", "exec over tls")
    assert r.stdout == "exec over tls\n", r.stderr
    assert docker_tls(tls_service, pki, "rm", "-f", "tlsbox").returncode == 0


def test_no_certificate_or_a_strangers_is_refused(tls_service, pki):
    stranger = docker_tls(tls_service, pki, "ps", cert="stranger")
    assert stranger.returncode != 0
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))  # verifies the server, offers no cert
    with socket.create_connection(("127.0.0.1", tls_service), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
                assert not s.recv(100)  # TLS 1.3 reports the refusal at the first read
                raise ConnectionError("closed")
    # plain HTTP on the TLS port gets nothing
    with socket.create_connection(("127.0.0.1", tls_service), timeout=10) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" not in s.recv(100)


def test_tcp_without_tls_is_refused_in_one_line(sampan):
    r = sampan("system", "service", "--time", "1", "tcp://127.0.0.1:2375")
    assert r.rc == 125 and "--tlscacert" in r.err and "Traceback" not in r.err
