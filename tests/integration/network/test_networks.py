"""User networks: create/ls/inspect/rm/prune, peers by name, internal networks."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from sampan.errors import Conflict, InvalidArgument, NetworkNotFound

from .conftest import Box, Httpd, in_ns, links, token


def _hosts_entry(path, name: str) -> str | None:
    for line in path.read_text().splitlines():
        fields = line.split()
        if name in fields[1:]:
            return fields[0]
    return None


def test_create_inspect_list_remove(nm):
    name = f"net-{token()}"
    info = nm.create(name, labels={"team": "a"})
    net = ipaddress.IPv4Network(info.subnet)
    assert info.gateway == str(net.network_address + 1)
    # the bridge exists with the gateway address: the subnet is claimed host-wide at once
    addrs = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", info.bridge], capture_output=True,
                           text=True).stdout
    assert f"inet {info.gateway}/{net.prefixlen}" in addrs
    assert nm.inspect(name) == info and nm.inspect(info.id[:12]) == info
    assert name in [n.name for n in nm.list()]
    assert nm.inspect(name).to_json()["IPAM"]["Config"][0]["Subnet"] == info.subnet
    with pytest.raises(Conflict, match="already exists"):
        nm.create(name)
    nm.remove(name)
    assert info.bridge not in links()
    with pytest.raises(NetworkNotFound, match="not found"):
        nm.inspect(name)


def test_subnets_never_collide_with_host_routes_or_each_other(nm):
    a = nm.create(f"a-{token()}")
    b = nm.create(f"b-{token()}")
    na, nb = ipaddress.IPv4Network(a.subnet), ipaddress.IPv4Network(b.subnet)
    assert not na.overlaps(nb)
    with open("/proc/net/route") as f:
        assert f.read().count(f"{a.bridge}\t") >= 1  # its route is the claim other roots see
    with pytest.raises(Conflict, match="overlaps"):
        nm.create(f"c-{token()}", subnet=str(na))
    nm.remove(a.name)
    nm.remove(b.name)


def test_explicit_subnet_gateway_and_bad_values(nm):
    # a /29 inside a range the pools never hand out, so no parallel test can hold it
    third = int(token()[:2], 16)
    subnet = f"192.168.{third}.8/29"
    name = f"fixed-{token()}"
    try:
        info = nm.create(name, subnet=subnet, gateway=f"192.168.{third}.14")
    except Conflict:
        pytest.skip(f"{subnet} is in use on this host")
    assert info.subnet == subnet and info.gateway == f"192.168.{third}.14"
    box = Box(nm, network=name)
    try:
        assert ipaddress.IPv4Address(box.att.ip) in ipaddress.IPv4Network(subnet)
        assert f"default via {info.gateway}" in in_ns(box.ns, "ip", "route").stdout
    finally:
        box.release()
    nm.remove(name)
    with pytest.raises(InvalidArgument, match="not a host address"):
        nm.create(f"bad-{token()}", subnet="10.250.0.0/24", gateway="10.250.1.1")
    with pytest.raises(InvalidArgument, match="invalid network name"):
        nm.create("no spaces")
    with pytest.raises(InvalidArgument, match="reserved"):
        nm.create("host")


def test_remove_refuses_while_attached_and_prune_removes_unused(nm):
    used, unused = nm.create(f"used-{token()}"), nm.create(f"unused-{token()}")
    box = Box(nm, network=used.name)
    try:
        with pytest.raises(Conflict, match="1 attached container"):
            nm.remove(used.name)
        assert nm.prune() == [unused.name]
        assert unused.bridge not in links() and used.bridge in links()
        with pytest.raises(Conflict, match="default network"):
            nm.remove("bridge")
    finally:
        box.release()
    assert used.name in nm.prune()


def test_peers_reach_each_other_by_name_and_hosts_stay_current(nm, tmp_path):
    net = nm.create(f"app-{token()}")
    hosts = {n: tmp_path / f"hosts-{n}" for n in ("web", "db", "cache")}
    web = Box(nm, network=net.name, hostname="web", hosts_path=hosts["web"])
    db = Box(nm, network=net.name, hostname="db", aliases=("database",), hosts_path=hosts["db"])
    srv = Httpd(db.ns, tmp_path)
    cache = None
    try:
        # web's /etc/hosts names db (and its alias) with db's real address...
        assert _hosts_entry(hosts["web"], "db") == db.att.ip
        assert _hosts_entry(hosts["web"], "database") == db.att.ip
        assert _hosts_entry(hosts["db"], "web") == web.att.ip
        # ...and that address answers from inside web's namespace
        got = in_ns(web.ns, "busybox", "wget", "-q", "-O", "-", f"http://{_hosts_entry(hosts['web'], 'db')}/")
        assert got.stdout == srv.body
        # a newcomer appears in everyone's file; a leaver disappears
        cache = Box(nm, network=net.name, hostname="cache", hosts_path=hosts["cache"])
        assert _hosts_entry(hosts["web"], "cache") == cache.att.ip
        assert _hosts_entry(hosts["cache"], "db") == db.att.ip
        cache.release(background=True)  # the background teardown updates the peers too
        cache = None
        nm.settle()
        assert _hosts_entry(hosts["web"], "cache") is None
        assert _hosts_entry(hosts["web"], "db") == db.att.ip
    finally:
        srv.stop()
        for b in (web, db, cache):
            if b is not None:
                b.release()
    nm.remove(net.name)


def test_internal_network_has_no_way_out(nm, tmp_path):
    net = nm.create(f"int-{token()}", internal=True)
    a = Box(nm, network=net.name)
    b = Box(nm, network=net.name)
    srv = Httpd(b.ns, tmp_path)
    try:
        assert "default" not in in_ns(a.ns, "ip", "route").stdout
        assert a.att.gateway == ""
        got = in_ns(a.ns, "busybox", "wget", "-q", "-O", "-", f"http://{b.att.ip}/")
        assert got.stdout == srv.body
    finally:
        srv.stop()
        a.release()
        b.release()
    nm.remove(net.name)


def test_default_network_gives_outbound_nat(nm):
    box = Box(nm)
    try:
        net = nm.inspect("bridge")
        assert f"default via {net.gateway}" in in_ns(box.ns, "ip", "route").stdout
        rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout.splitlines()
        # one rule for the network (as Docker's), none per container
        assert rules.count(f'-A POSTROUTING -s {net.subnet} ! -o {net.bridge} -m comment --comment '
                           f'"sampan {net.bridge} masquerade" -j MASQUERADE') == 1
        assert not [l for l in rules if box.cid in l]
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            assert f.read().strip() == "1"
        # the host reaches the container through the bridge
        assert subprocess.run(["busybox", "ping", "-c1", "-W2", box.att.ip], capture_output=True).returncode == 0
    finally:
        box.release()


def test_connect_and_disconnect_a_second_network(nm, tmp_path):
    other = nm.create(f"second-{token()}")
    box = Box(nm)
    peer = Box(nm, network=other.name)
    srv = Httpd(peer.ns, tmp_path)
    try:
        att = nm.attach(box.cid, box.ns, other.name)  # `network connect`
        assert att.ifname == "eth1"
        assert f"inet {att.ip}/" in in_ns(box.ns, "ip", "-o", "-4", "addr", "show", "eth1").stdout
        got = in_ns(box.ns, "busybox", "wget", "-q", "-O", "-", f"http://{peer.att.ip}/")
        assert got.stdout == srv.body
        with pytest.raises(Conflict, match="already connected"):
            nm.attach(box.cid, box.ns, other.name)
        nm.detach(box.cid, box.ns, other.name, att)  # `network disconnect`
        assert "eth1" not in in_ns(box.ns, "ip", "-o", "link").stdout
        assert [a.network for a in nm.attachments(box.cid)] == ["bridge"]
    finally:
        srv.stop()
        box.release()
        peer.release()
    nm.remove(other.name)


CREATE_MANY = r'''
import json, sys
from pathlib import Path
from sampan.network import NetworkManager
from sampan.state.db import Database
from sampan.state.paths import Paths
base = Path(sys.argv[1])
paths = Paths(base / "root", base / "run")
paths.ensure()
db = Database(paths.db)
nm = NetworkManager(paths, db)
print(json.dumps([nm.create(f"n{i}").subnet for i in range(3)]), flush=True)
sys.stdin.read()  # keep them until the test has looked
for n in nm.list():
    nm.remove(n.name)
'''


def test_parallel_roots_never_pick_the_same_subnet(tmp_path):
    import json
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", CREATE_MANY, str(tmp_path / f"r{i}")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for i in range(3)]
    try:
        got = [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            p.communicate("", timeout=60)
    nets = [ipaddress.IPv4Network(s) for g in got for s in g]
    assert len(nets) == 9
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert all(p.returncode == 0 for p in procs)


def test_hosts_file_of_a_container_on_two_networks_names_peers_of_both(nm, tmp_path):
    front, back = nm.create(f"front-{token()}"), nm.create(f"back-{token()}")
    hosts = {n: tmp_path / f"hosts-{n}" for n in ("app", "web", "db")}
    app = Box(nm, network=front.name, hostname="app", hosts_path=hosts["app"])
    web = Box(nm, network=front.name, hostname="web", hosts_path=hosts["web"])
    db = Box(nm, network=back.name, hostname="db", hosts_path=hosts["db"])
    try:
        att = nm.attach(app.cid, app.ns, back.name, aliases=("api",))  # network connect --alias api
        assert _hosts_entry(hosts["app"], "web") == web.att.ip
        assert _hosts_entry(hosts["app"], "db") == db.att.ip
        assert _hosts_entry(hosts["db"], "api") == att.ip  # the alias is seen on that network
        assert _hosts_entry(hosts["web"], "db") is None  # web is not on back
        nm.detach(app.cid, app.ns, back.name, att)
        assert _hosts_entry(hosts["app"], "db") is None
        assert _hosts_entry(hosts["db"], "app") is None
        assert _hosts_entry(hosts["app"], "web") == web.att.ip
    finally:
        for b in (app, web, db):
            b.release()
    nm.remove(front.name)
    nm.remove(back.name)
