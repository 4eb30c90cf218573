"""Choosing subnets that collide with nothing the host already routes."""

from __future__ import annotations

import ipaddress

from sampan.errors import Conflict, InvalidArgument

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterable, Iterator

Net = ipaddress.IPv4Network


def pool() -> Iterator[Net]:
    """Podman's 10.88/16 first, then the rest of 10.88-10.127, then Docker's 172.17-31."""
    for b in range(88, 128):
        yield Net(f"10.{b}.0.0/16")
    for b in range(17, 32):
        yield Net(f"172.{b}.0.0/16")


def parse_proc_route(text: str) -> list[Net]:
    """Destinations of /proc/net/route, the default route excluded (it overlaps everything)."""
    import socket
    import struct
    nets = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        dest = socket.inet_ntoa(struct.pack("<I", int(f[1], 16)))
        mask = socket.inet_ntoa(struct.pack("<I", int(f[7], 16)))
        net = Net(f"{dest}/{mask}", strict=False)
        if net.prefixlen > 0:
            nets.append(net)
    return nets


def host_networks() -> list[Net]:
    """Routed destinations plus the networks of every IPv4 address on any interface
    (a bridge that is down has an address but no route yet)."""
    import subprocess
    with open("/proc/net/route") as f:
        nets = parse_proc_route(f.read())
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            net = Net(fields[fields.index("inet") + 1], strict=False)
            if not net.is_loopback:
                nets.append(net)
    return nets


def pick_subnet(taken: Iterable[Net]) -> Net:
    taken = list(taken)
    for cand in pool():
        if not any(cand.overlaps(t) for t in taken):
            return cand
    raise Conflict("no free subnet left in 10.88.0.0-10.127.255.255 or 172.17-172.31; "
                   "remove unused networks (network prune) or give --subnet")


def parse_subnet(text: str) -> Net:
    try:
        net = Net(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text!r}: give an IPv4 CIDR such as 10.99.0.0/24") from None
    if net.prefixlen > 30:
        raise InvalidArgument(f"subnet {text!r} is too small: give a prefix of /30 or shorter")
    return net


def check_gateway(net: Net, gateway: str | None) -> str:
    if not gateway:
        return str(net.network_address + 1)
    try:
        gw = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise InvalidArgument(f"invalid gateway {gateway!r}: give an IPv4 address") from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidArgument(f"gateway {gateway} is not a host address of subnet {net}")
    return str(gw)
