"""Published ports: real traffic to 127.0.0.1 and to the test's own bridge address."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time

import pytest

from sampan.errors import Conflict

from .conftest import (Box, Httpd, UdpEcho, bridge_ports, container_rules, http_get, in_ns, iptables_lines, links,
                       udp_ask)


def test_published_tcp_port_answers_on_loopback_and_host_addresses(nm, tmp_path):
    before_links = links()
    box = Box(nm, ["80"])
    net = nm.inspect("bridge")
    port = box.maps[0].host_port
    assert port > 0
    # what the container itself sees: its address, a default route via the gateway
    addr = in_ns(box.ns, "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert f"inet {box.att.ip}/{box.att.prefix}" in addr
    assert f"default via {net.gateway} dev eth0" in in_ns(box.ns, "ip", "route").stdout
    assert box.att.host_veth in links() and box.att.host_veth not in before_links
    srv = Httpd(box.ns, tmp_path)
    try:
        assert http_get("127.0.0.1", port) == srv.body
        assert http_get(net.gateway, port) == srv.body  # another host address: our bridge's
        # hairpin: the container reaches its own published port through the host
        got = in_ns(box.ns, "timeout", "5", "busybox", "wget", "-q", "-O", "-", f"http://{net.gateway}:{port}/")
        assert got.stdout == srv.body
        # while it lives, the NAT rules for this container exist
        assert iptables_lines(box.cid)
    finally:
        srv.stop()
        box.release()
    assert http_get("127.0.0.1", port, timeout=1) == ""
    assert not container_rules(box.cid, net.bridge)
    assert box.att.host_veth not in links()
    assert not box.ns.exists()


def test_publishing_on_127_0_0_1_keeps_the_port_off_other_addresses(nm, tmp_path):
    box = Box(nm, ["127.0.0.1::80"])
    net = nm.inspect("bridge")
    srv = Httpd(box.ns, tmp_path)
    try:
        port = box.maps[0].host_port
        assert http_get("127.0.0.1", port) == srv.body
        assert http_get(net.gateway, port, timeout=1) == ""
    finally:
        srv.stop()
        box.release()


def test_fixed_host_port_and_port_range(nm, tmp_path):
    with socket.socket() as s:  # find two free neighbouring ports
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
    first = base - 1 if base > 40000 else base + 1
    box = Box(nm, [f"127.0.0.1:{first}-{first + 1}:80-81"])
    servers = [Httpd(box.ns, tmp_path, 80), Httpd(box.ns, tmp_path, 81)]
    try:
        assert [m.host_port for m in box.maps] == [first, first + 1]
        assert http_get("127.0.0.1", first) == servers[0].body
        assert http_get("127.0.0.1", first + 1) == servers[1].body
    finally:
        for srv in servers:
            srv.stop()
        box.release()


def test_udp_published_port(nm):
    box = Box(nm, ["127.0.0.1::5353/udp"])
    echo = UdpEcho(box.ns, 5353)
    try:
        word = secrets.token_hex(4).encode()
        assert udp_ask("127.0.0.1", box.maps[0].host_port, word) == b"echo:" + word
    finally:
        echo.stop()
        box.release()
    assert not iptables_lines(box.cid)


def test_same_container_port_in_many_containers_never_conflicts(nm, tmp_path):
    boxes = [Box(nm, ["127.0.0.1::80"]) for _ in range(3)]
    servers = [Httpd(b.ns, tmp_path) for b in boxes]
    try:
        ports = {b.maps[0].host_port for b in boxes}
        assert len(ports) == 3
        for b, srv in zip(boxes, servers):
            assert http_get("127.0.0.1", b.maps[0].host_port) == srv.body
    finally:
        for srv in servers:
            srv.stop()
        for b in boxes:
            b.release()


def _nothing_left(nm, ports_before, bridge):
    assert bridge_ports(bridge) == ports_before
    netns_dir = nm.paths.runroot / "netns"
    assert not netns_dir.exists() or not list(netns_dir.iterdir())
    assert not nm.store.attachment_rows()
    assert not container_rules(bridge)


def test_port_held_by_host_process_fails_first_and_leaves_nothing(nm):
    nm.default()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    holder = subprocess.Popen(["busybox", "nc", "-l", "-p", str(port)], stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if f":{port:04X} 00000000:0000 0A" in open("/proc/net/tcp").read():
                break
            time.sleep(0.02)
        before = bridge_ports(nm.inspect("bridge").bridge)
        for spec in (f"{port}:80", f"127.0.0.1:{port}:80"):
            with pytest.raises(Conflict) as e:
                Box(nm, [spec])
            assert e.value.exit_code == 125
            addr = "0.0.0.0" if spec.startswith(str(port)) else "127.0.0.1"
            assert str(e.value) == (f"{addr}:{port} is in use by pid {holder.pid} (busybox); "
                                    "choose another host port")
        _nothing_left(nm, before, nm.inspect("bridge").bridge)
    finally:
        holder.kill()
        holder.wait()


def test_port_published_by_another_container_names_it(nm):
    web1 = Box(nm, ["127.0.0.1::80"])
    port = web1.maps[0].host_port
    names = {web1.cid: "web1"}
    try:
        before = bridge_ports(nm.inspect("bridge").bridge)
        rules_before = iptables_lines(nm.inspect("bridge").bridge)
        with pytest.raises(Conflict) as e:
            Box(nm, [f"{port}:8080"], owner_lookup=names.get)
        assert str(e.value) == f"0.0.0.0:{port} is published by container web1; choose another host port"
        assert bridge_ports(nm.inspect("bridge").bridge) == before
        assert iptables_lines(nm.inspect("bridge").bridge) == rules_before
        assert len(nm.store.attachment_rows()) == 1
        # the same number on udp is another port
        other = Box(nm, [f"127.0.0.1:{port}:53/udp"])
        other.release()
    finally:
        web1.release()


def test_reservation_keeps_host_processes_off_the_port(nm):
    box = Box(nm, ["127.0.0.1::80"])
    try:
        with socket.socket() as s, pytest.raises(OSError):
            s.bind(("127.0.0.1", box.maps[0].host_port))
    finally:
        box.release()
    with socket.socket() as s:
        s.bind(("127.0.0.1", box.maps[0].host_port))  # free again once the container is gone
