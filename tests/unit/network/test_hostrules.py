"""Published-port rules as text: their shape, hostile values refused, chains made once."""

import pytest

from sampan.errors import NetworkError
from sampan.network import hostrules
from sampan.network.ports import PortMapping

CID = "ab" * 32


def test_rules_of_one_container_read_as_iptables_save_prints_them():
    specs = hostrules.rule_specs(CID, "spabc123-0", "10.90.0.0/16", "10.90.0.2",
                                 [PortMapping(80, 8080), PortMapping(53, 5353, "127.0.0.1", "udp"),
                                  PortMapping(80, 8081, "10.1.2.3")])
    c = f'-m comment --comment "sampan spabc123-0 {CID}"'
    assert specs == [
        f"SAMPAN-HOSTPORTS -p tcp -m tcp --dport 8080 {c} -j DNAT --to-destination 10.90.0.2:80",
        f"SAMPAN-HOSTPORTS-MASQ -s 10.90.0.0/16 -d 10.90.0.2/32 -p tcp -m tcp --dport 80 "
        f"-m conntrack --ctstate DNAT {c} -j MASQUERADE",
        f"SAMPAN-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.90.0.2/32 -p tcp -m tcp --dport 80 "
        f"-m conntrack --ctstate DNAT {c} -j MASQUERADE",
        f"SAMPAN-HOSTPORTS -d 127.0.0.1/32 -p udp -m udp --dport 5353 {c} -j DNAT --to-destination 10.90.0.2:53",
        f"SAMPAN-HOSTPORTS-MASQ -s 10.90.0.0/16 -d 10.90.0.2/32 -p udp -m udp --dport 53 "
        f"-m conntrack --ctstate DNAT {c} -j MASQUERADE",
        f"SAMPAN-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.90.0.2/32 -p udp -m udp --dport 53 "
        f"-m conntrack --ctstate DNAT {c} -j MASQUERADE",
        # a specific non-loopback host address: no 127.0.0.1 masquerade; the hairpin one
        # for container port 80 is there already and is not written twice
        f"SAMPAN-HOSTPORTS -d 10.1.2.3/32 -p tcp -m tcp --dport 8081 {c} -j DNAT --to-destination 10.90.0.2:80",
    ]
    # what reconcile reads back from iptables-save
    lines = ["-A " + s for s in specs] + ['-A SAMPAN-HOSTPORTS -p tcp -m comment --comment "someone else" -j ACCEPT',
                                          f'-A OTHER-CHAIN {c} -j ACCEPT']
    found = hostrules.found_rules(lines)
    assert {(b, cid) for b, cid, _ in found} == {("spabc123-0", CID)}
    assert [line for _, _, line in found] == ["-A " + s for s in specs]


@pytest.mark.parametrize("cid, bridge, subnet, ip, m", [
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080, "127.0.0.1\n-A INPUT -j ACCEPT")),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080, "127.0.0.1 -j ACCEPT")),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080, "", "tcp -j ACCEPT")),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping("80 -j ACCEPT", 8080)),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, "8080\nCOMMIT")),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 0)),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(70000, 8080)),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(True, 8080)),
    (CID, "spabc-0", "10.90.0.0/16", "10.90.0.2\n", PortMapping(80, 8080)),
    (CID, "spabc-0", "10.90.0.0/16 -j ACCEPT", "10.90.0.2", PortMapping(80, 8080)),
    (CID + '" -j ACCEPT', "spabc-0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080)),
    (CID, "spabc-0\n", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080)),
    (CID, "spabc 0", "10.90.0.0/16", "10.90.0.2", PortMapping(80, 8080)),
])
def test_hostile_values_never_reach_the_rules_script(cid, bridge, subnet, ip, m):
    with pytest.raises(NetworkError):
        hostrules.rule_specs(cid, bridge, subnet, ip, [m])


def test_publish_makes_missing_chains_once_and_never_declares_an_existing_one(monkeypatch, tmp_path):
    monkeypatch.setattr(hostrules, "CHAINS_LOCK", tmp_path / "chains.lock")
    monkeypatch.setattr(hostrules, "set_route_localnet", lambda bridge: None)
    scripts = []
    state = {"chains": False}
    # the DNAT chain exists (someone made it, then the jumps were flushed); the MASQ one not
    saved = [":SAMPAN-HOSTPORTS - [0:0]", hostrules.JUMPS[2]]

    def restore(lines):
        lines = list(lines)
        scripts.append(lines)
        if any(l.startswith(":") or l in hostrules.JUMPS for l in lines):
            state["chains"] = True
            return True, ""
        return state["chains"], "Chain 'SAMPAN-HOSTPORTS' does not exist"

    monkeypatch.setattr(hostrules, "_restore", restore)
    monkeypatch.setattr(hostrules, "_save_nat", lambda: saved)
    hostrules.publish(CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", [PortMapping(80, 8080)])
    assert len(scripts) == 3  # the rules, the chains, the rules again
    assert scripts[1] == [":SAMPAN-HOSTPORTS-MASQ - [0:0]", hostrules.JUMPS[0], hostrules.JUMPS[1]]
    assert scripts[0] == scripts[2] and all(l.startswith("-A SAMPAN-HOSTPORTS") for l in scripts[0])
    hostrules.publish(CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", [PortMapping(81, 8081)])
    assert len(scripts) == 4  # chains there now: one transaction


def test_a_publish_that_fails_twice_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(hostrules, "CHAINS_LOCK", tmp_path / "chains.lock")
    monkeypatch.setattr(hostrules, "set_route_localnet", lambda bridge: None)
    monkeypatch.setattr(hostrules, "_save_nat", lambda: [])
    monkeypatch.setattr(hostrules, "_restore", lambda lines: (list(lines) and False, "line 2 failed: boom"))
    with pytest.raises(NetworkError, match="cannot make the SAMPAN-HOSTPORTS chains: line 2 failed: boom"):
        hostrules.publish(CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", [PortMapping(80, 8080)])


def test_unpublish_falls_back_to_what_is_there(monkeypatch):
    """A rule already gone makes the exact delete fail as a whole: the rest are found by
    their comment, so a second cleanup (or one after a crash) removes what is left."""
    specs = hostrules.rule_specs(CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", [PortMapping(80, 8080)])
    present = ["-A " + specs[0], "-A " + hostrules.rule_specs("cd" * 32, "spabc-0", "10.90.0.0/16",
                                                               "10.90.0.3", [PortMapping(80, 8081)])[0]]
    scripts = []

    def restore(lines):
        lines = list(lines)
        scripts.append(lines)
        return all(("-A" + l[2:]) in present for l in lines), "Bad rule"

    monkeypatch.setattr(hostrules, "_restore", restore)
    monkeypatch.setattr(hostrules, "_save_nat", lambda: present)
    hostrules.unpublish(CID, "spabc-0", "10.90.0.0/16", "10.90.0.2", [PortMapping(80, 8080)])
    assert scripts[-1] == ["-D " + specs[0]]  # this container's rule only, not its neighbour's
