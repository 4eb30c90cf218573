"""The API service under test: `sampan system service` on a private root, driven by real
clients (the docker CLI, docker-py, docker-compose, testcontainers). Never a mock."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.cli import SAMPAN, Result


def docker_clis() -> list[str]:
    """Every docker CLI on this machine: Debian's docker.io (20.10, API 1.41) and a newer
    one in /usr/local/bin when present."""
    found = []
    for path in ("/usr/local/bin/docker", "/usr/bin/docker"):
        if os.access(path, os.X_OK) and os.path.realpath(path) not in map(os.path.realpath, found):
            found.append(path)
    return found


class Service:
    def __init__(self, root: Path, runroot: Path) -> None:
        self.root, self.runroot = root, runroot
        self.sock = runroot / "api.sock"
        self.host = f"unix://{self.sock}"
        self.config = runroot.parent / "docker-config"   # the clients' own config (logins)
        self.log = runroot.parent / "service.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Service":
        self.config.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, SAMPAN_NO_ZYGOTE="1")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                SAMPAN + ["--root", str(self.root), "--runroot", str(self.runroot), "system", "service",
                          "--time", "0", self.host],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"service exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.sock))
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("service did not listen within 20 s")

    def env(self, **extra: str) -> dict:
        return dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.config), DOCKER_BUILDKIT="0",
                    **extra)

    def docker(self, *args: str, cli: str = "docker", input: bytes | None = None, timeout: float = 60,
               env: dict | None = None) -> Result:
        """Run a docker CLI against the service."""
        exe = cli if os.path.isabs(cli) else shutil.which(cli)
        assert exe, f"no {cli} on PATH"
        p = subprocess.run([exe, *args], input=input, capture_output=True, timeout=timeout,
                           stdin=None if input is not None else subprocess.DEVNULL, env=env or self.env())
        return Result(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))

    def client(self, **kw):
        """A docker-py client on the service."""
        import docker
        return docker.DockerClient(base_url=self.host, **kw)

    def stop(self) -> str:
        """Stop the service; its log (a traceback in it fails the test that owns it)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text() if self.log.exists() else ""


def service_processes(root) -> list[int]:
    """Every process that runs `system service` on this root: the service and its children
    (each forked child keeps the service's command line)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if str(root).encode() in argv and b"service" in argv:
            found.append(int(pid))
    return found


def no_service_process_left(root, timeout: float = 5.0) -> None:
    """Assert that nothing the service on `root` forked outlives it (waiting a moment for
    the last ones to exit)."""
    deadline = time.monotonic() + timeout
    while service_processes(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service_processes(root) == [], "a process of the service outlived it"


def raw(service, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes on the socket; everything the service answers until it closes or pauses."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(service.sock))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out


def request(service, method: str, path: str, body: bytes = b"", headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, bytes]:
    """One raw request (Connection: close): (status, lower-cased headers, body, unchunked).
    A service that does not finish its answer within `timeout` fails the test."""
    hs = {"Host": "x", "Connection": "close", "Content-Length": str(len(body)), **(headers or {})}
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs.items()) + "\r\n"
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(service.sock))
        s.sendall(head.encode() + body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    top, _, payload = out.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    got = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if got.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return int(lines[0].split()[1]), got, payload


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2:]
    return out


def docker_ok(service, cli, *args) -> str:
    """A docker CLI command against the service that must succeed: its stdout."""
    r = service.docker(*args, cli=cli)
    assert r.rc == 0, (args, r.err)
    return r.out
