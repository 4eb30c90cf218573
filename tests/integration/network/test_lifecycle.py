"""Teardown off the critical path, sandboxes made ahead, reconcile after a crash."""

from __future__ import annotations

import secrets

from .conftest import Box, Httpd, http_get, in_ns, iptables_lines, links


def test_low_level_netns_attach_detach(nm, tmp_path):
    cid = secrets.token_hex(32)
    ns = nm.create_netns(cid)
    assert "lo" in in_ns(ns, "ip", "-o", "link", "show", "up").stdout  # lo is up without the plugin
    att = nm.attach(cid, ns, "bridge", hostname="lowlevel")
    assert f"inet {att.ip}/{att.prefix}" in in_ns(ns, "ip", "-o", "-4", "addr").stdout
    assert att.mac and att.mac in in_ns(ns, "ip", "-o", "link", "show", "eth0").stdout
    assert nm.attachments(cid) == [att]
    nm.detach(cid, ns, "bridge", att)
    assert "eth0" not in in_ns(ns, "ip", "-o", "link").stdout
    assert att.host_veth not in links()
    assert not iptables_lines(cid)
    nm.remove_netns(ns)
    assert not ns.exists()


def test_background_release_returns_at_once_and_the_port_is_reusable(nm, tmp_path):
    box = Box(nm, ["127.0.0.1::80"])
    port = box.maps[0].host_port
    veth = box.att.host_veth
    box.release(background=True)
    # the next container may ask for the same host port at once: check_ports waits
    # for the background DEL instead of calling the port taken
    again = Box(nm, [f"127.0.0.1:{port}:80"])
    srv = Httpd(again.ns, tmp_path)
    try:
        assert http_get("127.0.0.1", port) == srv.body
    finally:
        srv.stop()
        again.release(background=True)
    nm.settle()
    assert veth not in links() and again.att.host_veth not in links()
    assert not iptables_lines(box.cid, again.cid)
    assert not nm.store.attachment_rows()


def test_spare_sandbox_is_claimed_and_serves_published_ports(nm, tmp_path):
    assert nm.prepare_spare() is True
    assert nm.prepare_spare() is False  # one is waiting already
    spare_row = nm.store.attachment_rows()[0]
    assert nm.containers("bridge") == []  # a spare is no container
    box = Box(nm, ["127.0.0.1::80"], hostname="fast")
    assert str(box.ns) == spare_row["netns"]  # it got the sandbox made ahead
    assert nm.netns_of(box.cid) == box.ns
    assert [a.cid for a in nm.containers("bridge")] == [box.cid]
    assert [m.describe() for a in nm.attachments(box.cid) for m in a.ports] == [
        f"80/tcp -> 127.0.0.1:{box.maps[0].host_port}"]
    srv = Httpd(box.ns, tmp_path)
    try:
        assert http_get("127.0.0.1", box.maps[0].host_port) == srv.body
    finally:
        srv.stop()
    nm.release(box.cid, box.ns, background=True, replenish=True)
    box.close_ports()
    nm.settle()
    rows = nm.store.attachment_rows()
    assert len(rows) == 1 and rows[0]["state"] == "spare"  # the next one is ready
    assert not iptables_lines(box.cid)


def test_reconcile_after_monitor_killed(nm, tmp_path):
    dead = Box(nm, ["127.0.0.1::80"])
    alive = Box(nm)
    dead.close_ports()  # what kill -9 of its monitor does; nothing else ran
    assert iptables_lines(dead.cid)
    done = nm.reconcile(lambda cid: cid == alive.cid)
    assert done == [dead.cid]
    assert not iptables_lines(dead.cid)
    assert dead.att.host_veth not in links() and not dead.ns.exists()
    assert alive.att.host_veth in links()
    # a netns whose container never got attached is collected too
    orphan = nm.create_netns(secrets.token_hex(32))
    assert nm.reconcile(lambda cid: cid == alive.cid) == [orphan.name]
    assert not orphan.exists()
    alive.release()


def test_resolv_conf_has_no_loopback_server(nm):
    text = nm.resolv_conf().decode()
    servers = [l.split()[1] for l in text.splitlines() if l.startswith("nameserver")]
    assert servers and not any(s.startswith("127.") or s == "::1" for s in servers)
