"""Host bridges, one per network, named sp<root tag>-<n> so that parallel roots never share one."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from sampan.errors import InvalidArgument, NetworkError
from sampan.network.types import NetworkInfo

RESERVED_NAMES = ("bridge", "host", "none", "default")
NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def check_name(name: str) -> None:
    if not name or name[0] in "_.-" or any(c not in NAME_OK for c in name):
        raise InvalidArgument(f"invalid network name {name!r}: use letters, digits, '_', '.', '-'")
    if name in RESERVED_NAMES:
        raise InvalidArgument(f"network name {name!r} is reserved; choose another name")


def exists(bridge: str) -> bool:
    return Path(f"/sys/class/net/{bridge}").exists()


def free_name(tag: str, used: set[str]) -> str:
    """Interface names stop at 15 characters: 'sp' + 6 hex + '-' + a number fits."""
    i = 0
    while f"sp{tag}-{i}" in used or exists(f"sp{tag}-{i}"):
        i += 1
    return f"sp{tag}-{i}"


def make(info: NetworkInfo) -> None:
    """Create the bridge with its gateway address and bring it up (one `ip -batch`).
    The bridge plugin would do the same at the first ADD; doing it now makes the
    subnet visible to every other sampan root (a route) from the moment it is chosen."""
    import subprocess
    prefix = ipaddress.IPv4Network(info.subnet).prefixlen
    script = (f"link add {info.bridge} type bridge\n"
              f"addr add {info.gateway}/{prefix} dev {info.bridge}\n"
              f"link set {info.bridge} up\n")
    r = subprocess.run(["ip", "-batch", "-"], input=script, capture_output=True, text=True)
    if r.returncode != 0:
        delete(info.bridge)
        raise NetworkError(f"cannot create bridge {info.bridge}: {r.stderr.strip()}")


def delete(bridge: str) -> None:
    import subprocess
    if exists(bridge):
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
