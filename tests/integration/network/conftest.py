"""Fixtures for network integration tests: a NetworkManager on private state dirs,
helpers to run things inside a test's namespaces and to read the host's rules."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from sampan.network import NetworkManager, parse_publish
from sampan.state.db import Database
from sampan.state.paths import Paths
from tests.support import leaks

PY = sys.executable


def _make_manager(root: Path, runroot: Path) -> tuple[NetworkManager, Database]:
    paths = Paths(root, runroot)
    paths.ensure()
    db = Database(paths.db)
    return NetworkManager(paths, db), db


def _dismantle(nm: NetworkManager, db: Database) -> None:
    nm.settle()
    for r in nm.store.attachment_rows():
        nm.teardown.release_now(r["cid"], None)
    nm.reconcile(lambda cid: False)
    for info in nm.list():
        if info.name != "bridge":
            nm.remove(info.name)
    nm.destroy_default()
    db.close()


@pytest.fixture(scope="session", autouse=True)
def portmap_host_chains():
    """Published ports make host-wide chains and jump rules once (SAMPAN-HOSTPORTS*, as
    portmap's CNI-HOSTPORT-*) and, by design, never remove them. Create them before any
    test's leak snapshot."""
    base = Path(tempfile.mkdtemp(prefix="sampan-netwarm-"))
    nm, db = _make_manager(base / "root", base / "run")
    try:
        cid = secrets.token_hex(8)
        maps = nm.check_ports(parse_publish("127.0.0.1::80"))
        socks = nm.reserve_ports(maps)
        ns, _ = nm.setup(cid, mappings=maps)
        nm.release(cid, ns, background=False)
        for s in socks:
            s.close()
    finally:
        _dismantle(nm, db)
        shutil.rmtree(base, ignore_errors=True)
    yield


def _our_links(tag: str) -> set[str]:
    """Our bridges (sp<tag>-N) and every link enslaved to one of them."""
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, timeout=20).stdout
    found = set()
    for line in out.splitlines():
        name = line.split(":")[1].split("@")[0].strip()
        if name.startswith(f"sp{tag}-") or f" master sp{tag}-" in line:
            found.add(name)
    return found


@pytest.fixture
def nm():
    """A NetworkManager on private state dirs, with a leak check filtered to this test's
    own names: tests/conftest.py's state_dirs compares host-wide links and iptables
    rules, which under `-n 2` catches the other worker's networks and fails."""
    base = Path(tempfile.mkdtemp(prefix="sampan-test-"))
    manager, db = _make_manager(base / "root", base / "run")
    tag = manager.tag
    yield manager
    spare_veths = {r["host_veth"] for r in manager.store.attachment_rows("state='spare'")}
    left_by_test = _our_links(tag) - spare_veths - {n.bridge for n in manager.list()}
    _dismantle(manager, db)
    problems = {
        "links left attached by the test": sorted(left_by_test),
        "links after teardown": sorted(_our_links(tag)),
        "iptables": iptables_lines(f"sp{tag}-"),
        "mounts": leaks.mounts_under(str(base)),
        "processes": leaks.processes_with(str(base)),
    }
    shutil.rmtree(base, ignore_errors=True)
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"test leaked host state: {problems}"


def token() -> str:
    return secrets.token_hex(6)


def in_ns(ns: Path, *cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net={ns}", *cmd], capture_output=True, text=True, timeout=30, **kw)


def iptables_lines(*needles: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=30).stdout
    return [l for l in out.splitlines() if any(n in l for n in needles)]


def container_rules(*needles: str) -> list[str]:
    """iptables lines naming any needle, but for each network's own outbound NAT rule
    (which lives as long as its network)."""
    return [l for l in iptables_lines(*needles) if not l.endswith(' masquerade" -j MASQUERADE')]


def links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def bridge_ports(bridge: str) -> set[str]:
    """The links enslaved to one bridge: a test's own, unlike the host's whole link list,
    which tests running beside it change at any moment."""
    try:
        return set(os.listdir(f"/sys/class/net/{bridge}/brif"))
    except FileNotFoundError:
        return set()


class Httpd:
    """busybox httpd inside a netns, serving one file whose content the test knows."""

    def __init__(self, ns: Path, tmp: Path, port: int = 80):
        self.body = f"hello-{token()}\n"
        self.dir = tmp / f"www-{token()}"
        self.dir.mkdir()
        (self.dir / "index.html").write_text(self.body)
        self.proc = subprocess.Popen(["nsenter", f"--net={ns}", "busybox", "httpd", "-f", "-p", str(port),
                                      "-h", str(self.dir)])
        self.ns, self.port = ns, port
        self._wait_listening()

    def _wait_listening(self) -> None:
        for _ in range(200):
            r = in_ns(self.ns, "cat", "/proc/net/tcp", "/proc/net/tcp6")
            if re.search(rf":{self.port:04X} 0+:0000 0A ", r.stdout):
                return
            time.sleep(0.02)
        raise AssertionError("httpd did not start listening")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def http_get(host: str, port: int, timeout: float = 5.0) -> str:
    """Plain HTTP GET; '' when the connection is refused or times out."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return ""
    return data.decode(errors="replace").split("\r\n\r\n", 1)[-1]


UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(20)
print("ready", flush=True)
for _ in range(20):
    try:
        data, addr = s.recvfrom(2048)
    except socket.timeout:
        break
    s.sendto(b"echo:" + data, addr)
"""


class UdpEcho:
    def __init__(self, ns: Path, port: int):
        self.proc = subprocess.Popen(["nsenter", f"--net={ns}", PY, "-c", UDP_ECHO, str(port)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def udp_ask(host: str, port: int, payload: bytes, tries: int = 10) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        for _ in range(tries):
            s.sendto(payload, (host, port))
            try:
                return s.recvfrom(2048)[0]
            except socket.timeout:
                continue
    return b""


class Box:
    """What the engine does for one container: check, reserve, set up; and undo."""

    def __init__(self, nm: NetworkManager, specs=(), network: str = "bridge", hostname: str = "",
                 aliases=(), hosts_path: Path | None = None, owner_lookup=None, cid: str | None = None):
        from sampan.network import parse_publish_all

        self.nm = nm
        self.cid = cid or secrets.token_hex(32)
        self.maps = nm.check_ports(parse_publish_all(specs), owner_lookup)
        self.socks = nm.reserve_ports(self.maps)
        try:
            self.ns, self.att = nm.setup(self.cid, network, self.maps, aliases, hostname, hosts_path)
        except BaseException:
            self.close_ports()
            raise

    def close_ports(self) -> None:
        for s in self.socks:
            s.close()
        self.socks = []

    def release(self, background: bool = False) -> None:
        self.nm.release(self.cid, self.ns, background=background)
        self.close_ports()
