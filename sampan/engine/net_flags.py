"""The run/create flags of issue 11 that name ports, names and peers: --expose and
--domainname, checked at create as Docker's CLI and daemon check them."""

from __future__ import annotations

from sampan.errors import InvalidArgument

_PROTOCOLS = ("tcp", "udp", "sctp")
_UTS_NAME_MAX = 64  # the kernel's __NEW_UTS_LEN: setdomainname refuses longer


def parse_expose(items: list[str]) -> list[str]:
    """--expose PORT[/PROTO] or FIRST-LAST[/PROTO] (and the API's ExposedPorts keys): Docker's
    "80/tcp" keys, a range one key a port as docker/cli expands it, in order, once each."""
    out: dict[str, None] = {}
    for e in items:
        if not isinstance(e, str):
            raise InvalidArgument("each exposed port must be a string such as 80/tcp")
        if ":" in e:
            raise InvalidArgument(f"invalid port format for --expose: {_shown(e)}")
        port, _, proto = e.partition("/")
        proto = proto.lower() or "tcp"
        if proto not in _PROTOCOLS:
            raise InvalidArgument(f"invalid proto for --expose: {_shown(e)}: use tcp, udp or sctp")
        lo_s, dash, hi_s = port.partition("-")
        parts = (lo_s, hi_s) if dash else (lo_s,)
        if not all(p.isascii() and p.isdigit() and len(p) <= 5 for p in parts):
            raise InvalidArgument(f"invalid range format for --expose: {_shown(e)}")
        lo, hi = int(lo_s), int(hi_s if dash else lo_s)
        if not (0 < lo <= hi <= 65535):
            raise InvalidArgument(f"invalid range format for --expose: {_shown(e)}: ports are 1-65535, "
                                  "the first not above the last")
        for p in range(lo, hi + 1):
            out[f"{p}/{proto}"] = None
    return list(out)


def check_domainname(name: str | None) -> str:
    """--domainname (Config.Domainname): the UTS domain name, and the domain of the
    container's own line in /etc/hosts, so it must be one word of printable characters."""
    if not name:
        return ""
    if not isinstance(name, str) or len(name.encode()) > _UTS_NAME_MAX or not name.isprintable() \
            or any(c.isspace() or c in "/#" for c in name):
        raise InvalidArgument(f"invalid domain name {_shown(name)}: at most 64 printable characters, "
                              "no spaces, '/' or '#'")
    return name


def _shown(text: str) -> str:
    return repr(text[:80])
