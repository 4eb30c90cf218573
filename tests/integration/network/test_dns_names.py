"""Names on user networks by DNS (aardvark-dns at each network's gateway), and the
bridge's fixed MAC address without which peers lose the gateway for seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sampan.network import bridges, resolver

from .conftest import Box, in_ns, token

pytestmark = pytest.mark.skipif(resolver.binary() is None, reason="aardvark-dns is not installed")


def lookup(box: Box, name: str, server: str) -> str | None:
    """The address busybox's nslookup gets for name from server, inside box's netns;
    None for NXDOMAIN (or no answer)."""
    r = in_ns(box.ns, "busybox", "nslookup", name, server)
    answer = r.stdout.split("Name:", 1)
    if r.returncode != 0 or len(answer) < 2:
        return None
    for line in answer[1].splitlines():
        if line.startswith("Address"):
            return line.split()[-1]
    return None


def test_peers_resolve_by_name_and_alias_and_leavers_stop(nm, tmp_path):
    net = nm.create(f"dns-{token()}")
    web = Box(nm, network=net.name, hostname="web")
    db = Box(nm, network=net.name, hostname="db", aliases=("database",))
    cache = None
    try:
        assert nm.resolv_conf(net.name).splitlines()[0] == f"nameserver {net.gateway}".encode()
        assert lookup(web, "db", net.gateway) == db.att.ip
        assert lookup(web, "database", net.gateway) == db.att.ip
        assert lookup(db, "web", net.gateway) == web.att.ip
        cache = Box(nm, network=net.name, hostname="cache")
        assert lookup(web, "cache", net.gateway) == cache.att.ip
        cache.release(background=True)  # the background teardown withdraws the name
        cache = None
        nm.settle()
        assert lookup(web, "cache", net.gateway) is None
        assert lookup(web, "db", net.gateway) == db.att.ip
        assert len(nm.resolver.pids()) == 1
    finally:
        for b in (web, db, cache):
            if b is not None:
                b.release()
    assert nm.resolver.pids() == []  # the last name went: so did the resolver
    nm.remove(net.name)
    assert not any(nm.resolver.base.glob("*/" + net.bridge))


def test_names_of_one_network_are_not_answered_on_another(nm):
    a_net, b_net = nm.create(f"dnsa-{token()}"), nm.create(f"dnsb-{token()}")
    a = Box(nm, network=a_net.name, hostname="alpha")
    b = Box(nm, network=b_net.name, hostname="beta")
    try:
        assert lookup(a, "alpha", a_net.gateway) == a.att.ip
        assert lookup(b, "beta", b_net.gateway) == b.att.ip
        assert lookup(b, "alpha", b_net.gateway) is None
        assert lookup(a, "beta", a_net.gateway) is None
    finally:
        a.release()
        b.release()
    nm.remove(a_net.name)
    nm.remove(b_net.name)


def test_internal_network_resolver_answers_names_and_forwards_nothing(nm):
    net = nm.create(f"dnsi-{token()}", internal=True)
    a = Box(nm, network=net.name, hostname="a1")
    b = Box(nm, network=net.name, hostname="b1")
    try:
        assert lookup(a, "b1", net.gateway) == b.att.ip
        (pid,) = nm.resolver.pids()
        assert nm.resolver.pid(nm.resolver.base / "internal") == pid
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert b"AARDVARK_NO_PROXY=1" in env
    finally:
        a.release()
        b.release()
    nm.remove(net.name)


def test_hostile_aliases_never_reach_the_resolver_file(nm):
    net = nm.create(f"dnsh-{token()}")
    evil = ("ok-name", "x\n10.9.9.9 forged", "a,b", "sp ace", "../up", "-dash")
    box = Box(nm, network=net.name, hostname="host1", aliases=evil)
    other = Box(nm, network=net.name, hostname="other")
    try:
        text = (nm.resolver.base / "open" / net.bridge).read_text()
        lines = text.splitlines()
        assert lines[0] == net.gateway and len(lines) == 3
        mine = next(l for l in lines if l.startswith(box.cid))
        assert mine.split(" ")[-1].split(",") == ["host1", "ok-name"]
        assert "forged" not in text and "10.9.9.9" not in text
        assert lookup(other, "forged", net.gateway) is None
        assert lookup(other, "ok-name", net.gateway) == box.att.ip
    finally:
        box.release()
        other.release()
    nm.remove(net.name)


def test_bridge_keeps_one_mac_as_containers_come_and_go(nm):
    net = nm.create(f"mac-{token()}")
    sysfs = Path("/sys/class/net") / net.bridge
    assert (sysfs / "addr_assign_type").read_text().strip() == bridges.NET_ADDR_SET
    mac = (sysfs / "address").read_text().strip()
    assert mac == bridges.mac_for(net)
    web = Box(nm, network=net.name, hostname="web")
    try:
        for _ in range(4):  # each newcomer's veth may have a lower MAC than the bridge's
            other = Box(nm, network=net.name, hostname="other")
            assert (sysfs / "address").read_text().strip() == mac
            assert lookup(web, "other", net.gateway) == other.att.ip
            other.release()
            # web still reaches the gateway at once: its ARP entry is still right
            assert (sysfs / "address").read_text().strip() == mac
            assert lookup(web, "web", net.gateway) == web.att.ip
    finally:
        web.release()
    nm.remove(net.name)


def test_bridge_made_without_a_fixed_mac_gets_one_at_the_next_attach(nm):
    import subprocess
    net = nm.create(f"pin-{token()}")
    sysfs = Path("/sys/class/net") / net.bridge
    # as the CNI plugin makes it after a reboot: a random address, not pinned
    subprocess.run(["ip", "link", "del", net.bridge], check=True)
    subprocess.run(["ip", "link", "add", net.bridge, "type", "bridge"], check=True)
    assert (sysfs / "addr_assign_type").read_text().strip() != bridges.NET_ADDR_SET
    box = Box(nm, network=net.name, hostname="x")
    try:
        assert (sysfs / "addr_assign_type").read_text().strip() == bridges.NET_ADDR_SET
        assert (sysfs / "address").read_text().strip() == bridges.mac_for(net)
    finally:
        box.release()
    nm.remove(net.name)


def test_without_aardvark_the_host_resolvers_are_used(nm, monkeypatch):
    from sampan.network.resolver import Resolver
    monkeypatch.setitem(nm.__dict__, "_resolver", Resolver(nm.paths.runroot, aardvark=""))
    net = nm.create(f"nodns-{token()}")
    box = Box(nm, network=net.name, hostname="solo")
    try:
        assert not nm.resolver.available
        assert not nm.resolv_conf(net.name).startswith(f"nameserver {net.gateway}".encode())
        assert not (nm.resolver.base / "open").exists()
    finally:
        box.release()
    nm.remove(net.name)
    assert os.environ.get("SAMPAN_AARDVARK") is None
