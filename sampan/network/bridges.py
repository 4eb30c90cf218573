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


def mac_for(info: NetworkInfo) -> str:
    """The bridge's own MAC address, fixed for the network's life (locally administered,
    from its id). Left to itself, Linux gives a bridge the lowest MAC among its ports,
    so it changes as containers come and go, and every other container on the network
    keeps sending to the gateway's old MAC, into nothing, until its ARP entry ages out
    (seconds without DNS answers or a way out)."""
    return "02:" + ":".join(info.id[i:i + 2] for i in range(0, 10, 2))


def pin_mac(info: NetworkInfo) -> None:
    """Give an existing bridge its fixed MAC if it has none yet: one made by the CNI
    plugin (after a reboot) or by an older sampan. A file read when all is well."""
    try:
        assigned = Path(f"/sys/class/net/{info.bridge}/addr_assign_type").read_text().strip()
    except OSError:
        return  # not there: the bridge plugin makes it at ADD, and the next attach pins it
    if assigned != NET_ADDR_SET:
        import subprocess
        subprocess.run(["ip", "link", "set", "dev", info.bridge, "address", mac_for(info)],
                       capture_output=True)


NET_ADDR_SET = "3"  # addr_assign_type: the address was set by hand and the kernel keeps it


def make(info: NetworkInfo) -> None:
    """Create the bridge with its fixed MAC and gateway address and bring it up (one
    `ip -batch`). The bridge plugin would make it at the first ADD; doing it now makes
    the subnet visible to every other sampan root (a route) from the moment it is chosen."""
    import subprocess
    prefix = ipaddress.IPv4Network(info.subnet).prefixlen
    script = (f"link add {info.bridge} address {mac_for(info)} type bridge\n"
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
