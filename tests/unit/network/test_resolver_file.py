"""The aardvark-dns file a network's names go to: hostile names never add entries."""

from sampan.network import dns, resolver
from sampan.network.types import Peer


def test_render_keeps_dns_safe_names_only():
    peers = [Peer("a" * 64, "10.1.0.2", ("web", "web", "db.local", "x\n10.6.6.6 evil", "a,b", "a b",
                                        "-lead", "..", "a..b", "ok_1")),
             Peer("b" * 64, "10.1.0.3", ("bad name",)),        # nothing left: no line at all
             Peer("c\nX 1.1.1.1 y", "10.1.0.4", ("fine",))]  # a forged id: no line
    text = resolver.render("10.1.0.1", peers)
    assert text == f"10.1.0.1\n{'a' * 64} 10.1.0.2  web,db.local,ok_1\n"


def test_resolv_conf_via_the_gateway_keeps_search_and_options():
    host = b"nameserver 10.255.255.53\nsearch corp.example\noptions timeout:2\n"
    assert dns.resolv_conf_via("10.1.0.1", host) == \
        b"nameserver 10.1.0.1\nsearch corp.example\noptions timeout:2\noptions ndots:0\n"
    assert dns.resolv_conf_via("10.1.0.1", b"nameserver 1.1.1.1\noptions ndots:2\n") == \
        b"nameserver 10.1.0.1\noptions ndots:2\n"


def test_binary_can_be_disabled_or_chosen(monkeypatch, tmp_path):
    monkeypatch.setenv("SAMPAN_AARDVARK", "")
    assert resolver.binary() is None
    exe = tmp_path / "aardvark-dns"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("SAMPAN_AARDVARK", str(exe))
    assert resolver.binary() == str(exe)
    monkeypatch.setenv("SAMPAN_AARDVARK", str(tmp_path / "missing"))
    assert resolver.binary() is None


def test_a_containers_own_servers_follow_its_names():
    peers = [Peer("a" * 64, "10.1.0.2", ("web",)), Peer("b" * 64, "10.1.0.3", ("db",))]
    text = resolver.render("10.1.0.1", peers, {"b" * 64: ["9.9.9.9", "1.1.1.1"]})
    assert text.splitlines()[1:] == [f"{'a' * 64} 10.1.0.2  web", f"{'b' * 64} 10.1.0.3  db 9.9.9.9,1.1.1.1"]


def test_servers_files_keep_only_addresses(tmp_path):
    r = resolver.Resolver(tmp_path, aardvark="/bin/true")
    r.set_servers("c" * 64, ["9.9.9.9", "x\n10.6.6.6 forged", "::1"])
    peer = Peer("c" * 64, "10.1.0.4", ("box",))
    assert r._servers_of([peer]) == {"c" * 64: ["9.9.9.9", "::1"]}
    r.forget_servers("c" * 64)
    assert r._servers_of([peer]) == {}
