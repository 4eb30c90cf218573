"""`run` on the network: published ports with real traffic on 127.0.0.1, names on user
networks, conflicts named clearly with nothing left behind."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.integration.engine.conftest import settle, spare_veths
from tests.support import cgroups
from tests.support.net import free_port


def _get(url: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _links(sampan) -> set[str]:
    """This root's bridges and the veths plugged into them (other tests run in parallel)."""
    import subprocess
    bridges = {n for n in _bridges(sampan)}
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    links = set()
    for line in out.splitlines():
        name = line.split(":")[1].split("@")[0].strip()
        if name in bridges or any(f"master {b} " in line for b in bridges):
            links.add(name)
    return links


def _bridges(sampan) -> list[str]:
    from sampan.network import NetworkManager
    from sampan.state.db import Database
    from sampan.state.paths import Paths

    db = Database(Paths(sampan.root, sampan.runroot).db)
    try:
        return [n.bridge for n in NetworkManager(Paths(sampan.root, sampan.runroot), db).list()]
    finally:
        db.close()


def test_published_port_answers_on_loopback(sampan):
    port = free_port()
    sampan.ok("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sh", "-c",
              "echo hello from web > /var/www/index.html; exec httpd -f -p 80 -h /var/www")
    assert _get(f"http://127.0.0.1:{port}/index.html") == "hello from web\n"
    assert sampan.ok("port", "web") == f"80/tcp -> 0.0.0.0:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp" in sampan.ok("ps")
    ip = sampan.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web").strip()
    assert ip.count(".") == 3
    sampan.ok("rm", "-f", "web")


def _hold_port(port: int) -> subprocess.Popen:
    """A host process listening on 0.0.0.0:port (it prints ok once it does)."""
    return subprocess.Popen([sys.executable, "-c",
                             f"import socket,time; s=socket.socket(); s.bind(('0.0.0.0',{port})); "
                             f"s.listen(); print('ok', flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE)


def test_port_conflicts_name_the_holder_and_leave_nothing(sampan):
    port = free_port()
    sampan.ok("run", "-d", "--name", "web1", "-p", f"{port}:80", "busybox", "httpd", "-f", "-p", "80")
    links_before = _links(sampan)
    r = sampan("run", "-d", "--name", "web2", "-p", f"{port}:80", "busybox", "true")
    assert r.rc == 125
    assert r.err.strip() == f"sampan: 0.0.0.0:{port} is published by container web1; choose another host port"
    assert "web2" not in sampan.ok("ps", "-a")
    sampan.ok("rm", "-f", "web1")
    settle(sampan)

    holder = _hold_port(port)
    try:
        assert holder.stdout.readline() == b"ok\n"
        r = sampan("run", "--rm", "-p", f"{port}:80", "busybox", "true")
        assert r.rc == 125
        assert f"0.0.0.0:{port} is in use by pid {holder.pid}" in r.err
        assert sampan.ok("ps", "-aq") == ""
    finally:
        holder.kill()
        holder.wait()
    settle(sampan)
    assert _links(sampan) - links_before - spare_veths(sampan) == set()


def test_same_container_port_in_many_containers(sampan):
    for name in ("one", "two", "three"):
        sampan.ok("run", "-d", "--name", name, "-p", "80", "busybox", "httpd", "-f", "-p", "80")
    host_ports = {sampan.ok("port", n, "80").strip() for n in ("one", "two", "three")}
    assert len(host_ports) == 3


def test_user_network_names_and_aliases(sampan):
    sampan.ok("network", "create", "appnet")
    sampan.ok("run", "-d", "--name", "db1", "--network", "appnet", "--network-alias", "database",
              "busybox", "httpd", "-f", "-p", "80")
    out = sampan.ok("run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                    "wget -q -O- http://db1/ 2>&1 | head -1; ping -c1 -W2 database >/dev/null && echo alias-ok")
    assert "alias-ok" in out
    from sampan.network.resolver import binary
    if binary():  # by DNS too, not only through /etc/hosts (busybox's nslookup asks the server)
        out = sampan.ok("run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                        "head -1 /etc/resolv.conf; nslookup database")
        assert out.startswith("nameserver 10.") and "Name:\tdatabase" in out
    r = sampan("network", "rm", "appnet")
    assert r.rc != 0 and "db1" in r.err
    sampan.ok("rm", "-f", "db1")
    sampan.ok("network", "rm", "appnet")


def test_network_none_and_host(sampan):
    out = sampan.ok("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net")
    assert out.split() == ["lo"]
    import os
    out = sampan.ok("run", "--rm", "--network", "host", "busybox", "hostname")
    assert out.strip() == os.uname().nodename


def test_bad_network_input(sampan):
    for args, word in ((["-p", "99999:80"], "99999"), (["-p", "abc"], "abc"),
                       (["--network", "nosuchnet"], "nosuchnet"),
                       (["--network", "host", "-p", "80"], "host")):
        r = sampan("run", *args, "busybox", "true")
        assert r.rc == 125, (args, r.err)
        assert word in r.err and "Traceback" not in r.err
    assert sampan.ok("ps", "-aq") == ""


def test_container_network_mode_shares_the_stack(sampan):
    sampan.ok("run", "-d", "--name", "netowner", "busybox", "httpd", "-f", "-p", "8080")
    out = sampan.ok("run", "--rm", "--network", "container:netowner", "busybox", "sh", "-c",
                    "wget -q -O- http://127.0.0.1:8080/ >/dev/null 2>&1; echo rc=$?; ls /sys/class/net")
    # httpd answers (404 for /) on the owner's loopback: the stack is shared
    assert "eth0" in out.split()
    owner_ip = sampan.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "netowner").strip()
    out = sampan.ok("run", "--rm", "--network", "container:netowner", "busybox", "ip", "-4", "-o", "addr")
    assert owner_ip in out


def test_killed_monitor_leaves_nothing_after_prune(sampan):
    import os
    import signal
    import sqlite3
    cid = sampan.ok("run", "-d", "--name", "doomed", "-p", "80", "busybox", "sleep", "100").strip()
    conn = sqlite3.connect(sampan.root / "sampan.db")
    pid, monitor = conn.execute("SELECT pid, monitor_pid FROM containers WHERE id=?", (cid,)).fetchone()
    conn.close()
    os.kill(monitor, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    links_before = _links(sampan)
    settle(sampan)
    sampan.ok("system", "prune", "-f")  # removes the dead container and releases its sandbox
    settle(sampan)
    assert sampan.ok("ps", "-aq") == ""
    assert not [l for l in _links(sampan) if l in links_before and l not in spare_veths(sampan)
                and not l.startswith("sp")]


def test_add_host_dns_hostname(sampan):
    out = sampan.ok("run", "--rm", "--add-host", "db.local:10.1.2.3", "--dns", "9.9.9.9", "-h", "myhost",
                    "busybox", "sh", "-c", "grep db.local /etc/hosts; cat /etc/resolv.conf; hostname")
    assert out.split("\n")[:3] == ["10.1.2.3\tdb.local", "nameserver 9.9.9.9", "myhost"]


def test_publish_all_and_connect_disconnect(sampan, busybox_tar):
    sampan.ok("import", "--change", "EXPOSE 80", "--change", 'CMD ["httpd", "-f", "-p", "80"]',
              str(busybox_tar), "exposed")
    sampan.ok("run", "-d", "--name", "pa", "-P", "exposed")
    line = sampan.ok("port", "pa").strip()
    assert line.startswith("80/tcp -> 0.0.0.0:")
    port = int(line.rsplit(":", 1)[1])
    assert port > 0
    sampan.ok("network", "create", "side")
    sampan.ok("run", "-d", "--name", "peer", "--network", "side", "busybox", "sleep", "100")
    sampan.ok("network", "connect", "side", "pa")
    out = sampan.ok("exec", "peer", "sh", "-c", "ping -c1 -W2 pa >/dev/null && echo reach")
    assert out.strip() == "reach"
    assert "eth1" in sampan.ok("exec", "pa", "ls", "/sys/class/net")
    # inspect gives the connected network's real address, as the container sees it
    shown = sampan.ok("inspect", "-f", "{{.NetworkSettings.Networks.side.IPAddress}}", "pa").strip()
    inside = sampan.ok("exec", "pa", "ip", "-4", "-o", "addr", "show", "eth1")
    assert shown and f" {shown}/" in inside
    sampan.ok("network", "disconnect", "side", "pa")
    assert "eth1" not in sampan.ok("exec", "pa", "ls", "/sys/class/net")
    sampan.ok("rm", "-f", "pa", "peer")


def test_finished_sandbox_is_recycled_unless_it_could_be_changed(sampan):
    def ip_of_run(*extra):
        out = sampan.ok("run", "--rm", *extra, "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
        return out.split()[3]
    first = ip_of_run()
    settle(sampan)
    # the next container claims the same sandbox: same address, no CNI call on its path
    assert ip_of_run() == first
    settle(sampan)
    # a container that may reconfigure its network (NET_ADMIN) has its sandbox torn down
    out = sampan.ok("run", "--rm", "--cap-add", "NET_ADMIN", "busybox", "sh", "-c",
                    "ip addr add 192.0.2.1/32 dev eth0 && ip -4 -o addr show eth0")
    assert "192.0.2.1" in out
    settle(sampan)
    for _ in range(3):  # the spare pool holds at most 2: a recycled one would show up here
        assert "192.0.2.1" not in sampan.ok("run", "--rm", "busybox", "ip", "-4", "-o", "addr")


def test_a_start_that_cannot_get_its_port_leaves_the_container_created_and_unmounted(sampan):
    from tests.support.leaks import mounts_under
    port = free_port()
    sampan.ok("create", "--name", "late", "-p", f"{port}:80", "busybox", "true")
    holder = _hold_port(port)
    try:
        assert holder.stdout.readline() == b"ok\n"
        r = sampan("start", "late")
        assert r.rc == 125 and r.err.count("\n") == 1
        assert f"0.0.0.0:{port} is in use by pid {holder.pid}" in r.err
        info = json.loads(sampan.ok("inspect", "late"))[0]
        assert info["State"]["Status"] == "created" and f"{port}" in info["State"]["Error"]
        assert mounts_under(str(sampan.root), but_layers=True) == []  # the start's root filesystem mount was undone
        assert not cgroups.dirs(f"sampan/{info['Id']}")  # nor its cgroup made ahead
    finally:
        holder.kill()
        holder.wait()
    assert sampan("start", "-a", "late").rc == 0  # the port is free again: it starts
    sampan.ok("rm", "late")
    settle(sampan)


FAKE_DNS = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    q, addr = s.recvfrom(512)
    qid, end = q[:2], 12
    while q[end]:
        end += q[end] + 1
    question = q[12:end + 5]
    qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
    answers = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([10, 11, 12, 13]) if qtype == 1 else b""
    s.sendto(qid + b"\x81\x80\x00\x01" + struct.pack("!H", 1 if answers else 0) + b"\x00\x00\x00\x00"
             + question + answers, addr)
"""


def test_dns_servers_on_a_user_network_answer_what_peers_do_not(sampan):
    """--dns on a user network: peers' names still resolve, the rest goes to the given server
    (as Docker's embedded resolver forwards)."""
    from sampan.network.resolver import binary
    if not binary():
        import pytest
        pytest.skip("aardvark-dns is not installed")
    server = subprocess.Popen([sys.executable, "-c", FAKE_DNS, "127.83.0.1"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        sampan.ok("network", "create", "dnsnet")
        sampan.ok("run", "-d", "--name", "dbx", "--network", "dnsnet", "busybox", "sleep", "60")
        out = sampan.ok("run", "--rm", "--network", "dnsnet", "--dns", "127.83.0.1", "busybox", "sh", "-c",
                        "head -1 /etc/resolv.conf; nslookup dbx; nslookup far.example.test")
        assert out.startswith("nameserver 10.")
        assert "Name:\tdbx" in out and "Address: 10.11.12.13" in out
        sampan.ok("rm", "-f", "dbx")
        sampan.ok("network", "rm", "dnsnet")
    finally:
        server.kill()
        server.wait()
