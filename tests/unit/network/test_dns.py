from sampan.network.dns import filter_resolv_conf, hosts_file, rewrite_in_place
from sampan.network.types import Attachment, Peer


def test_loopback_nameservers_dropped_and_others_kept():
    out = filter_resolv_conf("search example.org\nnameserver 127.0.0.53\nnameserver 10.1.1.1\noptions edns0\n")
    assert out == b"search example.org\nnameserver 10.1.1.1\noptions edns0\n"


def test_only_stub_resolver_falls_back_to_google():
    out = filter_resolv_conf("nameserver 127.0.0.53\nnameserver ::1\nsearch lan\n").decode()
    assert "127.0.0.53" not in out and "::1" not in out
    assert "nameserver 8.8.8.8\nnameserver 8.8.4.4" in out and "search lan" in out


def test_systemd_resolved_upstreams_preferred_to_fallback():
    out = filter_resolv_conf("nameserver 127.0.0.53\n", upstream="nameserver 192.0.2.53\nsearch corp\n")
    assert out == b"nameserver 192.0.2.53\nsearch corp\n"


def test_empty_host_file_still_resolves():
    assert filter_resolv_conf("") == b"nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def _att(cid="c1", ip="10.88.0.5", aliases=("web",)):
    return Attachment(cid, "net1", "eth0", ip, 16, "10.88.0.1", "aa:bb", "veth0", (), aliases, "box")


def test_hosts_file_has_own_name_and_peers_but_not_self_twice():
    peers = [Peer("c1", "10.88.0.5", ("box",)), Peer("c2", "10.88.0.6", ("db", "database"))]
    text = hosts_file("box", _att(), peers).decode()
    assert "127.0.0.1\tlocalhost" in text
    assert "10.88.0.5\tbox web\n" in text
    assert "10.88.0.6\tdb database\n" in text
    assert text.count("10.88.0.5") == 1


def test_hosts_file_without_network_maps_name_locally():
    assert "127.0.1.1\tbox" in hosts_file("box", None).decode()


def test_rewrite_in_place_keeps_the_inode(tmp_path):
    p = tmp_path / "hosts"
    p.write_bytes(b"a much longer first version\n")
    inode = p.stat().st_ino
    rewrite_in_place(p, b"short\n")
    assert p.read_bytes() == b"short\n" and p.stat().st_ino == inode
