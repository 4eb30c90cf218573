"""Published ports as sampan's own NAT rules, one `iptables-restore --noflush` per change.

The CNI portmap plugin cost a plugin exec plus a full ruleset read and write at
each ADD and DEL (~50 ms and ~100 ms here); these rules cost one ~2-20 ms
iptables-restore each way, so a container's ports can be removed in the
foreground and its sandbox kept as a spare for the next container.

What `iptables-save -t nat` shows (v4; what portmap did, in chains of our own):

    -A PREROUTING -m addrtype --dst-type LOCAL -j SAMPAN-HOSTPORTS
    -A OUTPUT -m addrtype --dst-type LOCAL -j SAMPAN-HOSTPORTS
    -A POSTROUTING -j SAMPAN-HOSTPORTS-MASQ
    # per mapping: host port -> container (any local address, or -d HOST_IP/32)
    -A SAMPAN-HOSTPORTS -p tcp -m tcp --dport 8080 -m comment --comment "sampan BRIDGE CID"
       -j DNAT --to-destination 10.88.0.5:80
    # hairpin (a container on the bridge reaching a published port) and 127.0.0.1:
    # the answer must come back through the host, so the source is masqueraded
    -A SAMPAN-HOSTPORTS-MASQ -s 10.88.0.0/16 -d 10.88.0.5/32 -p tcp -m tcp --dport 80
       -m conntrack --ctstate DNAT -m comment --comment "sampan BRIDGE CID" -j MASQUERADE
    -A SAMPAN-HOSTPORTS-MASQ -s 127.0.0.0/8 -d 10.88.0.5/32 ... -j MASQUERADE

plus `route_localnet=1` on the bridge, as portmap sets it, so that 127.0.0.1 may be
routed out to it after the DNAT. The comment names the bridge (whose name carries the
root's tag) and the container, so `reconcile` can find what a crash left behind and
each root touches only its own rules. The host-wide chains and jumps are made once,
on first use, and stay (as portmap's CNI-HOSTPORT-* chains do).
"""

from __future__ import annotations

from pathlib import Path

from sampan.errors import NetworkError
from sampan.network.ports import PROTOCOLS, PortMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable

DNAT_CHAIN = "SAMPAN-HOSTPORTS"
MASQ_CHAIN = "SAMPAN-HOSTPORTS-MASQ"
JUMPS = (f"-A PREROUTING -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}",
         f"-A OUTPUT -m addrtype --dst-type LOCAL -j {DNAT_CHAIN}",
         f"-A POSTROUTING -j {MASQ_CHAIN}")
# Host-wide: two roots (parallel tests) making the chains at once must not both add jumps.
CHAINS_LOCK = Path("/run/lock/sampan-hostports.lock")
# What a rule's comment looks like in iptables-save: "sampan BRIDGE CID" (compiled where
# rules are read back: `re` stays off the run path)
_COMMENT = r'--comment "?sampan (\S+) ([0-9A-Za-z]+)"?(?: |$)'


def comment(bridge: str, cid: str) -> str:
    return f"sampan {bridge} {cid}"


def _is_loopback(ip: str) -> bool:
    return ip.startswith("127.")


def _checked(cid: str, bridge: str, subnet: str, ip: str, m: PortMapping) -> None:
    """Every value goes into an iptables-restore script as text: a stray space or newline
    (a hostile record, a client's port binding) would be another option or another rule."""
    import ipaddress
    try:
        ipaddress.IPv4Network(subnet)
        ipaddress.IPv4Address(ip)
        if m.host_ip:
            ipaddress.IPv4Address(m.host_ip)
    except ValueError as e:
        raise NetworkError(f"refusing to write a port rule: {e}") from None
    ok = (cid.isascii() and cid.isalnum() and bridge.isascii() and bridge.replace("-", "").isalnum()
          and m.proto in PROTOCOLS
          and all(type(p) is int and 1 <= p <= 65535 for p in (m.host_port, m.container_port)))
    if not ok:
        raise NetworkError(f"refusing to write a port rule for {m!r} of {cid[:64]!r} on {bridge[:64]!r}")


def rule_specs(cid: str, bridge: str, subnet: str, ip: str, mappings: Iterable[PortMapping]) -> list[str]:
    """The rules of one container's mappings, as `CHAIN match... -j target` (no -A/-D).
    Written as iptables-save prints them, so that a rule read back compares equal."""
    c = f'-m comment --comment "{comment(bridge, cid)}"'
    out: list[str] = []
    for m in mappings:
        _checked(cid, bridge, subnet, ip, m)
        p = m.proto
        dst = f"-d {m.host_ip}/32 " if m.host_ip else ""
        out.append(f"{DNAT_CHAIN} {dst}-p {p} -m {p} --dport {m.host_port} {c} "
                   f"-j DNAT --to-destination {ip}:{m.container_port}")
        sources = [subnet] + (["127.0.0.0/8"] if not m.host_ip or _is_loopback(m.host_ip) else [])
        for src in sources:
            out.append(f"{MASQ_CHAIN} -s {src} -d {ip}/32 -p {p} -m {p} --dport {m.container_port} "
                       f"-m conntrack --ctstate DNAT {c} -j MASQUERADE")
    return list(dict.fromkeys(out))  # two host ports on one container port share its MASQ rules


def _restore(lines: Iterable[str]) -> tuple[bool, str]:
    """One atomic nat-table transaction; (ok, error text)."""
    import subprocess  # not at module top: `import sampan.network` stays cheap for `run`
    text = "*nat\n" + "".join(l + "\n" for l in lines) + "COMMIT\n"
    try:
        p = subprocess.run(["iptables-restore", "-w", "--noflush"], input=text.encode(),
                           capture_output=True, close_fds=True)
    except FileNotFoundError:
        raise NetworkError("iptables-restore not found: install the iptables package") from None
    err = p.stderr.decode(errors="replace").strip().splitlines()
    return p.returncode == 0, (err[-1] if err else f"exit status {p.returncode}")


def _save_nat() -> list[str]:
    import subprocess
    try:
        p = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, close_fds=True)
    except FileNotFoundError:
        return []
    return p.stdout.decode(errors="replace").splitlines()


def ensure_chains() -> None:
    """Make the host-wide chains and their jumps, whichever are missing (a chain is
    never declared when it exists: iptables-restore would flush it)."""
    from sampan.state.lock import file_lock
    with file_lock(CHAINS_LOCK):
        have = _save_nat()
        lines = [f":{ch} - [0:0]" for ch in (DNAT_CHAIN, MASQ_CHAIN)
                 if not any(l.startswith(f":{ch} ") for l in have)]
        lines += [j for j in JUMPS if j not in have]
        if lines:
            ok, err = _restore(lines)
            if not ok:
                raise NetworkError(f"cannot make the {DNAT_CHAIN} chains: {err}")


def set_route_localnet(bridge: str) -> None:
    """Let 127.0.0.1, once DNATed, be routed out to the bridge (portmap's setting)."""
    path = f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet"
    try:
        with open(path) as f:
            if f.read().strip() == "1":
                return
        with open(path, "w") as f:
            f.write("1")
    except OSError as e:
        raise NetworkError(f"cannot set route_localnet on {bridge}: {e.strerror}") from None


def publish(cid: str, bridge: str, subnet: str, ip: str, mappings: Iterable[PortMapping]) -> None:
    """Add the rules of cid's mappings in one transaction (all or none)."""
    mappings = list(mappings)
    if not mappings:
        return
    if any(not m.host_ip or _is_loopback(m.host_ip) for m in mappings):
        set_route_localnet(bridge)
    lines = ["-A " + r for r in rule_specs(cid, bridge, subnet, ip, mappings)]
    ok, err = _restore(lines)
    if not ok:
        ensure_chains()  # the first publish on this host (or someone removed our chains)
        ok, err = _restore(lines)
        if not ok:
            raise NetworkError(f"cannot publish ports of container {cid[:12]}: {err}")


def unpublish(cid: str, bridge: str, subnet: str, ip: str, mappings: Iterable[PortMapping]) -> None:
    """Remove exactly the rules publish() added. When some are already gone (a crash
    between recording and adding them, a second cleanup), the rest are found by their
    comment instead, so this is idempotent."""
    lines = ["-D " + r for r in rule_specs(cid, bridge, subnet, ip, mappings)]
    if lines and _restore(lines)[0]:
        return
    remove_matching(lambda b, c: b == bridge and c == cid)


def found_rules(have: list[str] | None = None) -> list[tuple[str, str, str]]:
    """(bridge, cid, rule line) of every sampan rule in our chains."""
    import re
    comment_re = re.compile(_COMMENT)
    out = []
    for line in _save_nat() if have is None else have:
        if not line.startswith((f"-A {DNAT_CHAIN} ", f"-A {MASQ_CHAIN} ")):
            continue
        m = comment_re.search(line)
        if m:
            out.append((m.group(1), m.group(2), line))
    return out


def remove_matching(select) -> list[str]:
    """Delete every sampan rule whose (bridge, cid) select() accepts; returns those cids."""
    return delete_rules([(b, c, line) for b, c, line in found_rules() if select(b, c)])


def delete_rules(found: list[tuple[str, str, str]]) -> list[str]:
    """Delete rules as found_rules() gave them, in one transaction; returns their cids."""
    if not found:
        return []
    ok, err = _restore("-D" + line[2:] for _, _, line in found)
    if not ok:
        raise NetworkError(f"cannot remove published-port rules: {err}")
    return sorted({c for _, c, _ in found})


def masquerade_spec(bridge: str, subnet: str) -> str:
    """A network's outbound NAT, one rule per network as Docker writes it (instead of the
    bridge plugin's chain and two rules per container, whose iptables calls at every ADD
    and DEL grow with the number of containers: ~20 ms each at 1,000)."""
    import ipaddress
    ipaddress.IPv4Network(subnet)
    if not bridge.replace("-", "").isalnum():
        raise NetworkError(f"refusing to write a masquerade rule for bridge {bridge[:64]!r}")
    return (f"POSTROUTING -s {subnet} ! -o {bridge} -m comment --comment \"sampan {bridge} masquerade\" "
            "-j MASQUERADE")


def ensure_masquerade(bridge: str, subnet: str) -> None:
    import subprocess
    spec = masquerade_spec(bridge, subnet)
    check = subprocess.run(["iptables", "-w", "-t", "nat", "-C", *_argv(spec)], capture_output=True,
                           close_fds=True)
    if check.returncode != 0:
        ok, err = _restore(["-A " + spec])
        if not ok:
            raise NetworkError(f"cannot add the outbound NAT rule of {bridge}: {err}")


def remove_masquerade(bridge: str, subnet: str) -> None:
    _restore(["-D " + masquerade_spec(bridge, subnet)])  # gone already: nothing to do


def _argv(spec: str) -> list[str]:
    import shlex
    return shlex.split(spec)


def uses_portmap(conflist: dict) -> bool:
    """An attachment made by an older sampan, whose ports the portmap plugin holds."""
    return any(p.get("type") == "portmap" for p in conflist.get("plugins", ()))
