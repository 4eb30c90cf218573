"""Published ports through sampan's own NAT rules: exact removal, neighbours, recycled
sandboxes, and what a crash leaves (real iptables, real traffic)."""

from __future__ import annotations

import secrets
import socket

from sampan.network import hostrules
from sampan.network.ports import PortMapping

from .conftest import Box, Httpd, container_rules, http_get, in_ns, iptables_lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _rules_of(nm) -> list[str]:
    """This root's port rules, in iptables-save's order (other roots' are not ours to compare)."""
    bridge = nm.inspect("bridge").bridge
    return [l for l in iptables_lines(f"sampan {bridge} ") if l.startswith("-A SAMPAN-HOSTPORTS")]


def test_rules_of_a_container_are_removed_exactly(nm, tmp_path):
    net = nm.default()
    before = iptables_lines(net.bridge)
    box = Box(nm, ["8", f"127.0.0.1:{_free_port()}:81/udp"])
    try:
        expected = ["-A " + s for s in hostrules.rule_specs(box.cid, net.bridge, net.subnet, box.att.ip, box.maps)]
        assert sorted(_rules_of(nm)) == sorted(expected)
        # the host-wide chains are jumped to, as portmap's are
        nat = iptables_lines("SAMPAN-HOSTPORTS")
        assert all(j in nat for j in hostrules.JUMPS)
        with open(f"/proc/sys/net/ipv4/conf/{net.bridge}/route_localnet") as f:
            assert f.read().strip() == "1"
    finally:
        box.release()
    assert iptables_lines(net.bridge) == before
    assert not iptables_lines(box.cid)


def test_two_containers_on_different_ports_and_one_goes(nm, tmp_path):
    net = nm.default()
    a = Box(nm, [f"{_free_port()}:80"])
    b = Box(nm, [f"{_free_port()}:80"])
    srv_a, srv_b = Httpd(a.ns, tmp_path), Httpd(b.ns, tmp_path)
    try:
        pa, pb = a.maps[0].host_port, b.maps[0].host_port
        for host in ("127.0.0.1", net.gateway):
            assert http_get(host, pa) == srv_a.body
            assert http_get(host, pb) == srv_b.body
        # a container reaches its neighbour's published port through the host (hairpin
        # masquerade for every source on the bridge, not only the container itself)
        got = in_ns(b.ns, "timeout", "5", "busybox", "wget", "-q", "-O", "-", f"http://{net.gateway}:{pa}/")
        assert got.stdout == srv_a.body
        b_rules = [l for l in _rules_of(nm) if b.cid in l]
        srv_a.stop()
        a.release()
        assert http_get("127.0.0.1", pa, timeout=1) == ""
        assert not iptables_lines(a.cid)
        assert _rules_of(nm) == b_rules  # the neighbour's rules untouched
        assert http_get("127.0.0.1", pb) == srv_b.body
    finally:
        srv_a.stop()
        srv_b.stop()
        a.release()
        b.release()


def test_a_recycled_sandbox_loses_its_ports_and_serves_the_next_container(nm, tmp_path):
    net = nm.default()
    port = _free_port()
    first = Box(nm, [f"{port}:80"])
    ns = first.ns
    assert nm.recycle(first.cid) is True  # what a container's exit does (engine.networking)
    first.close_ports()
    # (the bridge plugin's outbound NAT rules name the sandbox's first owner: they stay)
    assert not [l for l in iptables_lines(first.cid) if "SAMPAN" in l]
    assert http_get("127.0.0.1", port, timeout=1) == ""
    rows = nm.store.attachment_rows()
    assert [r["state"] for r in rows] == ["spare"] and not nm.store.port_holders(port, "tcp")
    # the next container gets that sandbox and the same host port, now its own
    second = Box(nm, [f"{port}:80"])
    srv = Httpd(second.ns, tmp_path)
    try:
        assert second.ns == ns
        assert http_get("127.0.0.1", port) == srv.body
        assert _rules_of(nm) == [
            "-A " + s for s in hostrules.rule_specs(second.cid, net.bridge, net.subnet, second.att.ip, second.maps)
            if s.startswith("SAMPAN-HOSTPORTS ")] + [
            "-A " + s for s in hostrules.rule_specs(second.cid, net.bridge, net.subnet, second.att.ip, second.maps)
            if s.startswith("SAMPAN-HOSTPORTS-MASQ ")]
    finally:
        srv.stop()
        second.release()
    assert not container_rules(net.bridge)


def test_rules_a_crash_left_without_records_are_swept_by_reconcile(nm):
    """A database that lost its records (or an undo whose rule removal failed too) leaves
    rules that nothing names: reconcile finds them by their comment, this root's only."""
    net = nm.default()
    alive = Box(nm, [f"127.0.0.1:{_free_port()}:80"])
    ghost = secrets.token_hex(32)
    hostrules.publish(ghost, net.bridge, net.subnet, "10.255.255.254", [PortMapping(80, _free_port(), "192.0.2.1")])
    # a rule of another root (another bridge name) with the same shape is not ours to touch
    other_root = secrets.token_hex(32)
    hostrules.publish(other_root, "spzzzzzz-0", net.subnet, "10.255.255.253",
                      [PortMapping(80, _free_port(), "192.0.2.1")])
    try:
        assert iptables_lines(ghost)
        assert nm.reconcile(lambda cid: cid == alive.cid) == [ghost]
        assert not iptables_lines(ghost)
        assert iptables_lines(alive.cid) and iptables_lines(other_root)
    finally:
        hostrules.remove_matching(lambda b, c: c == other_root)
        alive.release()
    assert not iptables_lines(other_root)


def test_release_after_the_rules_vanished_is_still_clean(nm):
    """Someone flushed our rules (or a second cleanup ran): the release does not fail and
    removes the rest."""
    box = Box(nm, [f"127.0.0.1:{_free_port()}:80"])
    first = next(l for l in iptables_lines(box.cid) if l.startswith("-A SAMPAN-HOSTPORTS "))
    hostrules._restore(["-D" + first[2:]])
    assert iptables_lines(box.cid)  # the masquerade rules are still there
    box.release()
    assert not iptables_lines(box.cid)
    assert not nm.store.attachment_rows()
