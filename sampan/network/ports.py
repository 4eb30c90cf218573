"""Published-port specs: `-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]`, ranges, `-P`.

Pure parsing, no kernel access, so it is cheap and unit-testable.
"""

from __future__ import annotations

import ipaddress
from collections import namedtuple

from sampan.errors import InvalidArgument

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterable

PROTOCOLS = ("tcp", "udp")


class PortMapping(namedtuple(
        "PortMapping", "container_port host_port host_ip proto", defaults=(0, "", "tcp"))):
    """One host port forwarded to one container port.

    host_ip "" means every host address (0.0.0.0); host_port 0 means "pick a free one".
    """

    __slots__ = ()  # fields (types for the reader):
    # container_port: int
    # host_port: int = 0
    # host_ip: str = ""
    # proto: str = "tcp"

    @property
    def bind_ip(self) -> str:
        return self.host_ip or "0.0.0.0"

    def host_addr(self) -> str:
        """'0.0.0.0:8080' — how a conflict message names the host side."""
        return f"{self.bind_ip}:{self.host_port}"

    def label(self) -> str:
        """How messages name the host side: '0.0.0.0:8080', '0.0.0.0:53/udp'."""
        return self.host_addr() + ("/udp" if self.proto == "udp" else "")

    def describe(self) -> str:
        """`sampan port` line: '80/tcp -> 0.0.0.0:8080'."""
        return f"{self.container_port}/{self.proto} -> {self.host_addr()}"

    def to_json(self) -> dict:
        return {"container_port": self.container_port, "host_port": self.host_port,
                "host_ip": self.host_ip, "proto": self.proto}

    @classmethod
    def from_json(cls, d: dict) -> "PortMapping":
        return cls(int(d["container_port"]), int(d["host_port"]), d.get("host_ip", ""),
                   d.get("proto", "tcp"))


def _port_range(text: str, spec: str, what: str, allow_zero: bool) -> tuple[int, int]:
    lo_s, sep, hi_s = text.partition("-")
    if not all(x.isascii() and x.isdigit() for x in ((lo_s, hi_s) if sep else (lo_s,))):
        raise InvalidArgument(f"invalid publish spec {spec!r}: {what} {text!r} is not a port number")
    try:
        lo = int(lo_s, 10)
        hi = int(hi_s, 10) if sep else lo
    except ValueError:
        raise InvalidArgument(f"invalid publish spec {spec!r}: {what} {text!r} is not a port number")
    low_limit = 0 if allow_zero else 1
    for p in (lo, hi):
        if not low_limit <= p <= 65535:
            raise InvalidArgument(f"invalid publish spec {spec!r}: {what} {p} is out of range 1-65535")
    if hi < lo:
        raise InvalidArgument(f"invalid publish spec {spec!r}: {what} range {text!r} is reversed")
    return lo, hi


def _split_host_ip(spec: str, body: str) -> tuple[str, str]:
    """Split off a leading HOST_IP (IPv4, or [IPv6] which we refuse for now)."""
    if body.startswith("["):
        end = body.find("]")
        if end < 0:
            raise InvalidArgument(f"invalid publish spec {spec!r}: unclosed '[' in host address")
        raise InvalidArgument(f"invalid publish spec {spec!r}: IPv6 host addresses are not supported; "
                              "use an IPv4 address or none")
    parts = body.split(":")
    if len(parts) <= 2:
        return "", body
    if len(parts) > 3:
        raise InvalidArgument(f"invalid publish spec {spec!r}: expected [HOST_IP:][HOST_PORT:]CONTAINER_PORT")
    ip = parts[0]
    if ip:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid publish spec {spec!r}: {ip!r} is not an IPv4 address")
        ip = "" if addr.is_unspecified else str(addr)
    return ip, ":".join(parts[1:])


def parse_publish(spec: str) -> list[PortMapping]:
    """Parse one `-p` value into one mapping per container port."""
    text = spec.strip()
    if not text:
        raise InvalidArgument("invalid publish spec '': give [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]")
    body, slash, proto = text.rpartition("/") if "/" in text else (text, "", "tcp")
    proto = proto.lower()
    if slash and proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid publish spec {spec!r}: protocol {proto!r} is not tcp or udp")
    host_ip, rest = _split_host_ip(spec, body)
    host_s, colon, cont_s = rest.rpartition(":")
    if not cont_s:
        raise InvalidArgument(f"invalid publish spec {spec!r}: no container port")
    c_lo, c_hi = _port_range(cont_s, spec, "container port", allow_zero=False)
    count = c_hi - c_lo + 1
    if colon and host_s:
        h_lo, h_hi = _port_range(host_s, spec, "host port", allow_zero=True)
        if h_lo == 0 and h_hi == 0:
            host_ports = [0] * count
        elif h_hi - h_lo + 1 != count:
            raise InvalidArgument(f"invalid publish spec {spec!r}: host range {host_s} and container range "
                                  f"{cont_s} differ in length; give ranges of equal size")
        else:
            host_ports = list(range(h_lo, h_hi + 1))
    else:
        host_ports = [0] * count
    return [PortMapping(c, h, host_ip, proto) for c, h in zip(range(c_lo, c_hi + 1), host_ports)]


def parse_publish_all(specs: Iterable[str]) -> list[PortMapping]:
    """Parse every `-p`; the same host port twice in one run is refused here already."""
    out: list[PortMapping] = []
    for s in specs:
        out.extend(parse_publish(s))
    check_no_self_overlap(out)
    return out


def overlap_ip(a: str, b: str) -> bool:
    """Two bind addresses clash if either is the wildcard or they are equal."""
    return not a or not b or a == b


def check_no_self_overlap(mappings: list[PortMapping]) -> None:
    seen: list[PortMapping] = []
    for m in mappings:
        if m.host_port:
            for o in seen:
                if o.proto == m.proto and o.host_port == m.host_port and overlap_ip(o.host_ip, m.host_ip):
                    raise InvalidArgument(f"host port {m.label()} is published twice in this "
                                          "command; give each mapping its own host port")
        seen.append(m)


def expose_all(exposed: Iterable[str], host_ip: str = "") -> list[PortMapping]:
    """`-P`: every EXPOSEd port ('80', '80/tcp', '53/udp', '8000-8002/tcp') on a free host port."""
    out: list[PortMapping] = []
    for e in exposed:
        port_s, _, proto = e.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in PROTOCOLS:
            continue  # e.g. sctp: Docker would publish it, we cannot; skip rather than fail the run
        lo, hi = _port_range(port_s, e, "exposed port", allow_zero=False)
        out.extend(PortMapping(p, 0, host_ip, proto) for p in range(lo, hi + 1))
    return out
