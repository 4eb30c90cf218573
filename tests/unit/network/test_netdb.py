from sampan.network.netdb import ACTIVE, SPARE, TEARING, NetDB
from sampan.network.ports import PortMapping
from sampan.network.types import Attachment, NetworkInfo
from sampan.state.db import Database


def _att(cid, ports=(), ip="10.9.0.2"):
    return Attachment(cid, "n1", "eth0", ip, 24, "10.9.0.1", "aa", "veth1", tuple(ports), ("al",), "h-" + cid)


def test_spare_is_claimed_once_and_keeps_its_cni_id(tmp_path):
    store = NetDB(Database(tmp_path / "db"))
    with store.db.tx() as conn:
        store.insert_network(conn, NetworkInfo("n1", "0" * 64, "spx-0", "10.9.0.0/24", "10.9.0.1"))
    store.insert_attachment(_att("spare1"), "/run/x/netns/spare1", {"plugins": []}, {"ips": []}, "", SPARE)
    assert store.count_attachments("n1") == 0 and store.peers("n1") == []
    row = store.claim_spare("n1", "c1", ("web",), "box", "/h")
    assert row["cid"] == "c1" and row["cni_id"] == "spare1" and row["state"] == ACTIVE
    assert store.claim_spare("n1", "c2", (), "", "") is None
    assert store.count_attachments("n1") == 1
    assert [(p.cid, p.names) for p in store.peers("n1")] == [("c1", ("box", "web"))]


def test_port_holders_follow_attachment_state(tmp_path):
    store = NetDB(Database(tmp_path / "db"))
    store.insert_attachment(_att("c1", [PortMapping(80, 8080, "127.0.0.1")]), "/ns", {}, {}, "")
    assert store.port_holders(8080, "tcp") == [("c1", "127.0.0.1", ACTIVE)]
    assert store.port_holders(8080, "udp") == []
    store.set_state("c1", "n1", TEARING)
    assert store.port_holders(8080, "tcp") == [("c1", "127.0.0.1", TEARING)]
    store.delete_attachment("c1", "n1")
    assert store.port_holders(8080, "tcp") == []
    assert store.attachments_of("c1") == []
