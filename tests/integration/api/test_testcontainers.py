"""testcontainers 4 drives sampan as a test suite would: a busybox web server with an
exposed port, its mapped host port read back (inspect's NetworkSettings.Ports), a page
fetched from 127.0.0.1, the container stopped and removed. Ryuk (the reaper container)
is off, as the issue says: sampan removes what the test made."""

from __future__ import annotations

import os
import time
import urllib.request
from contextlib import contextmanager

import pytest


HTTPD = ("mkdir -p /www && echo 'hello from sampan' > /www/index.html && exec httpd -f -p 8080 -h /www")


pytestmark = pytest.mark.usefixtures("no_process_outlives_the_service")


@contextmanager
def tc_settings(service):
    """testcontainers reads its settings from the environment when imported and when a
    client is made: set them for the test's duration only. On a machine with /.dockerenv
    testcontainers would reach containers through their bridge's gateway: the connection
    mode and host override say the published ports are on this host."""
    wanted = {"DOCKER_HOST": service.host, "DOCKER_CONFIG": str(service.config),
              "TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
              "TESTCONTAINERS_CONNECTION_MODE": "docker_host"}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        from testcontainers.core.config import ConnectionMode
        from testcontainers.core.config import testcontainers_config as tc
        old = (tc.ryuk_disabled, tc.tc_host_override, tc.connection_mode_override)
        tc.ryuk_disabled, tc.tc_host_override = True, "127.0.0.1"
        tc.connection_mode_override = ConnectionMode.docker_host
        try:
            yield
        finally:
            tc.ryuk_disabled, tc.tc_host_override, tc.connection_mode_override = old
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fetch(url: str, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_web_server_with_an_exposed_port(service):
    from testcontainers.core.container import DockerContainer
    with tc_settings(service):
        container = (DockerContainer("busybox").with_command(["sh", "-c", HTTPD]).with_exposed_ports(8080)
                     .with_env("ROLE", "web").with_kwargs(labels={"suite": "testcontainers"}))
        with container:
            host = container.get_container_host_ip()
            port = int(container.get_exposed_port(8080))
            assert host == "127.0.0.1" and 0 < port < 65536
            assert fetch(f"http://{host}:{port}/index.html") == b"hello from sampan\n"
            wrapped = container.get_wrapped_container()
            wrapped.reload()
            assert wrapped.status == "running"
            assert "ROLE=web" in wrapped.attrs["Config"]["Env"]
            cid = wrapped.id
        # leaving the block stopped and removed it
    ids = service.cli("ps", "-aq", "--no-trunc").out.split()
    assert cid not in ids


def test_waiting_for_a_log_line(service):
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy
    with tc_settings(service):
        container = (DockerContainer("busybox").with_command(["sh", "-c", "echo ready; exec sleep 300"])
                     .waiting_for(LogMessageWaitStrategy("ready")))
        with container:
            stdout, _ = container.get_logs()
            assert b"ready" in stdout
