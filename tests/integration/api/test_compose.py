"""Debian's docker-compose 1.29 on sampan's API: a two-service project on its own network,
reached by service name, with a published port, a named volume, labels, depends_on,
scaling, and a `down -v` that leaves nothing behind."""

import json
import os
import subprocess
import time
import urllib.request

import pytest

from tests.support import leaks

COMPOSE = "/usr/bin/docker-compose"

pytestmark = pytest.mark.skipif(not os.access(COMPOSE, os.X_OK), reason="no docker-compose")

PROJECT_FILE = """\
version: "3.8"
services:
  db:
    image: busybox
    command: ["sh", "-c", "mkdir -p /data && echo dbdata > /data/hello && exec httpd -f -p 5432 -h /data"]
    volumes:
      - dbdata:/data
    labels:
      role: database
  web:
    image: busybox
    depends_on:
      - db
    command: ["sh", "-c", "mkdir -p /www; until wget -q -O /www/index.html http://db:5432/hello; do sleep 0.2; done; exec httpd -f -p 80 -h /www"]
    ports:
      - "127.0.0.1::80"
    labels:
      role: frontend
volumes:
  dbdata:
"""


def compose(service, project_dir, *args, timeout=120):
    env = service.env(COMPOSE_HTTP_TIMEOUT="120")
    version = getattr(service, "compose_api", None)
    if version:
        env["COMPOSE_API_VERSION"] = version
    return subprocess.run([COMPOSE, "--ansi", "never", "-p", "shop", *args], cwd=project_dir,
                          capture_output=True, text=True, timeout=timeout, env=env)


def ok(p, service):
    assert p.returncode == 0, f"{p.args}: {p.stdout}\n{p.stderr}\n--- service log:\n{service.log.read_text()[-6000:]}"
    return p.stdout


def fetch(url: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def web_urls(service, project_dir) -> list[str]:
    ids = ok(compose(service, project_dir, "ps", "-q", "web"), service).split()
    urls = []
    for cid in ids:
        ports = json.loads(service.docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", cid).out)
        [binding] = ports["80/tcp"]
        assert binding["HostIp"] == "127.0.0.1"
        urls.append(f"http://127.0.0.1:{binding['HostPort']}/index.html")
    return urls


@pytest.fixture
def project(service, tmp_path):
    d = tmp_path / "shop"
    d.mkdir()
    (d / "docker-compose.yml").write_text(PROJECT_FILE)
    yield d
    compose(service, d, "down", "-v", "-t", "1")


def bridge_of(service, network: str) -> str:
    """The host bridge behind one of the service's networks (from its own state)."""
    from sampan.network import NetworkManager
    from sampan.state.db import Database
    from sampan.state.paths import Paths
    db = Database(Paths(service.root, service.runroot).db)
    try:
        return NetworkManager(Paths(service.root, service.runroot), db).inspect(network).bridge
    finally:
        db.close()


def links_on(bridge: str) -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True).stdout
    return {line.split(":")[1].split("@")[0].strip() for line in out.splitlines() if line.count(":") >= 2}


@pytest.mark.parametrize("api", [None, "1.25"], ids=["negotiated", "api-1.25"])
def test_up_scale_down_leaves_nothing(service, project, api):
    service.compose_api = api  # compose speaks what it negotiates, or the COMPOSE_API_VERSION given
    mounts_before = leaks.mounts_under(str(service.root.parent))
    ok(compose(service, project, "up", "-d"), service)
    out = ok(compose(service, project, "ps"), service)
    assert "shop_db_1" in out and "shop_web_1" in out and out.count("Up") == 2, out
    # web reached db by its service name over the project's network, and serves what it got
    [url] = web_urls(service, project)
    assert fetch(url) == "dbdata\n"
    db = json.loads(service.docker("inspect", "shop_db_1").out)[0]
    assert db["Config"]["Labels"]["role"] == "database"
    assert db["Config"]["Labels"]["com.docker.compose.project"] == "shop"
    assert list(db["NetworkSettings"]["Networks"]) == ["shop_default"]
    assert "db" in db["NetworkSettings"]["Networks"]["shop_default"]["Aliases"]
    assert [m["Name"] for m in db["Mounts"] if m["Type"] == "volume"] == ["shop_dbdata"]
    # a second `up -d` changes nothing; --scale adds a second web on the same network
    ok(compose(service, project, "up", "-d"), service)
    ok(compose(service, project, "up", "-d", "--scale", "web=2"), service)
    urls = web_urls(service, project)
    assert len(urls) == 2 and all(fetch(u) == "dbdata\n" for u in urls)
    bridge = bridge_of(service, "shop_default")
    veths = links_on(bridge)
    assert len(veths) == 3, veths  # db and two webs
    ok(compose(service, project, "down", "-v", "-t", "1"), service)
    assert service.docker("ps", "-aq").out.strip() == ""
    assert "shop" not in service.docker("network", "ls", "--format", "{{.Name}}").out
    assert service.docker("volume", "ls", "-q").out.strip() == ""
    deadline = time.monotonic() + 20
    while True:
        links = set(os.listdir("/sys/class/net"))
        left = {bridge, *veths} & links
        rules = [r for r in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.splitlines()
                 if bridge in r]
        # a container's teardown readies a spare sandbox on the default bridge for the next
        # `run` (network/manager.py): the engine's pool, not the project's
        mounts = {m for m in set(leaks.mounts_under(str(service.root.parent), but_layers=True)) - set(mounts_before)
                  if not os.path.basename(m).startswith("spare")}
        if not (left or rules or mounts) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left, f"links left after down -v: {left}"
    assert not rules, f"iptables rules left after down -v: {rules}"
    assert not mounts, f"mounts left after down -v: {mounts}"


TWO_NETWORKS = """\
version: "3.8"
services:
  db:
    image: busybox
    command: ["sh", "-c", "mkdir -p /data && echo backend > /data/hello && exec httpd -f -p 5432 -h /data"]
    networks:
      back:
        aliases: [database]
  web:
    image: busybox
    depends_on: [db]
    command: ["sh", "-c", "mkdir -p /www; until wget -q -O /www/index.html http://database:5432/hello; do sleep 0.2; done; exec httpd -f -p 80 -h /www"]
    ports: ["127.0.0.1::80"]
    networks: [front, back]
networks:
  front:
  back:
    internal: true
"""


def test_services_on_two_networks(service, project):
    (project / "docker-compose.yml").write_text(TWO_NETWORKS)
    ok(compose(service, project, "up", "-d"), service)
    [url] = web_urls(service, project)
    assert fetch(url) == "backend\n"  # web reached db by its alias on the internal network
    nets = json.loads(service.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", "shop_web_1").out)
    assert sorted(nets) == ["shop_back", "shop_front"]
    back = json.loads(service.docker("network", "inspect", "shop_back").out)[0]
    assert back["Internal"] is True and len(back["Containers"]) == 2
    # a restart keeps web on both networks (and its port)
    ok(compose(service, project, "restart", "-t", "1", "web"), service)
    [url] = web_urls(service, project)
    assert fetch(url) == "backend\n"
    ok(compose(service, project, "stop", "-t", "1"), service)
    ok(compose(service, project, "start"), service)
    [url] = web_urls(service, project)
    assert fetch(url) == "backend\n"
    ok(compose(service, project, "down", "-v", "-t", "1"), service)
    assert not any(n.startswith("shop_") for n in service.docker("network", "ls", "--format", "{{.Name}}").out.split())


MOUNT_KINDS = """\
version: "3.8"
services:
  box:
    image: busybox
    command: ["sleep", "60"]
    volumes:
      - type: volume
        source: stuff
        target: /v
      - type: bind
        source: ./host
        target: /h
        read_only: true
      - type: tmpfs
        target: /t
volumes:
  stuff:
"""


def test_long_syntax_volume_bind_and_tmpfs(service, project):
    (project / "docker-compose.yml").write_text(MOUNT_KINDS)
    (project / "host").mkdir()
    (project / "host" / "file").write_text("from the host")
    ok(compose(service, project, "up", "-d"), service)
    info = json.loads(service.docker("inspect", "shop_box_1").out)[0]
    kinds = {m["Destination"]: (m["Type"], m["RW"]) for m in info["Mounts"]}
    assert kinds["/v"] == ("volume", True) and kinds["/h"] == ("bind", False), kinds
    run = lambda *a: service.cli("exec", "shop_box_1", "sh", "-c", *a)  # noqa: E731
    assert run("cat /h/file").out == "from the host"
    assert run("echo x > /h/new").rc != 0 and not (project / "host" / "new").exists()
    assert run("echo kept > /v/f && grep ' /t ' /proc/mounts").out.split()[2] == "tmpfs"
    ok(compose(service, project, "down", "-v", "-t", "1"), service)
    assert service.docker("volume", "ls", "-q").out.strip() == ""


def test_logs_and_exec(service, project):
    ok(compose(service, project, "up", "-d"), service)
    [url] = web_urls(service, project)
    assert fetch(url) == "dbdata\n"
    out = ok(compose(service, project, "exec", "-T", "db", "cat", "/data/hello"), service)
    assert out == "dbdata\n"
    p = compose(service, project, "exec", "-T", "db", "sh", "-c", "exit 3")
    assert p.returncode == 3
    ok(compose(service, project, "exec", "-T", "web", "sh", "-c", "echo to-the-log > /proc/1/fd/1"), service)
    logs = ok(compose(service, project, "logs", "--no-color", "web"), service)
    assert "to-the-log" in logs and "web_1" in logs
