"""`sampan compose ARGS...`: docker-compose against sampan's socket, the service started
in the background when none listens, and gone by itself once idle."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from tests.support.api import service_processes


COMPOSE = """\
services:
  web:
    image: busybox
    command: ["sleep", "300"]
"""

# No network of its own: compose then asks for no network endpoint at all.
COMPOSE_NO_NET = """\
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    network_mode: none
    environment:
      ROLE: web
    labels:
      suite: compose
"""

needs_compose = pytest.mark.skipif(not shutil.which("docker-compose"), reason="no docker-compose")


def compose(sampan, project, *args, env=None, timeout=120):
    env = dict(sampan.env(), **(env or {}))
    p = subprocess.run(sampan.argv("compose", "-p", "infra", "-f", str(project / "compose.yaml"), *args),
                       capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    return p


def wait_gone(root, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while service_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert service_processes(root) == [], "the background service did not exit on idle"


@needs_compose
def test_compose_starts_the_service_which_then_exits_on_idle(sampan, tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    sock = sampan.runroot / "sampan.sock"
    assert not sock.exists()
    try:
        p = compose(sampan, tmp_path, "ps")   # a project with nothing up: a list request
        assert p.returncode == 0, p.stderr
        assert "Name" in p.stdout and "State" in p.stdout
        assert len(service_processes(sampan.root)) >= 1   # still there for the next command
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(sock))
        p = compose(sampan, tmp_path, "ps")   # the same service answers again
        assert p.returncode == 0, p.stderr
        assert len(service_processes(sampan.root)) == 1
    finally:
        wait_gone(sampan.root)
    assert not sock.exists()


def test_no_compose_program_is_one_clear_line(sampan, tmp_path):
    env = dict(sampan.env(), PATH=str(tmp_path))   # neither docker-compose nor docker
    p = subprocess.run(sampan.argv("compose", "up"), capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=30)
    assert p.returncode != 0
    assert p.stderr.strip().splitlines() == [
        "sampan: no compose program found: install Debian's docker-compose package (apt-get install docker-compose)"]
    assert not (sampan.runroot / "sampan.sock").exists()


def up_ps_down(sampan, project) -> None:
    try:
        up = compose(sampan, project, "up", "-d")
        assert up.returncode == 0, up.stderr
        ps = compose(sampan, project, "ps")
        assert ps.returncode == 0, ps.stderr
        assert "infra_web_1" in ps.stdout and "Up" in ps.stdout
        assert "infra_web_1" in sampan.ok("ps", "--format", "{{.Names}}")   # one state with the CLI
        down = compose(sampan, project, "down")
        assert down.returncode == 0, down.stderr
        assert sampan.ok("ps", "-aq") == ""
    finally:
        compose(sampan, project, "down", "-v", "-t", "0")
        wait_gone(sampan.root)


@needs_compose
def test_compose_up_ps_down_without_a_network(sampan, tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE_NO_NET)
    up_ps_down(sampan, tmp_path)


@needs_compose
def test_compose_up_ps_down_on_its_own_network(sampan, tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    up_ps_down(sampan, tmp_path)
