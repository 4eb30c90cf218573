"""Who holds a host port: /proc/net/{tcp,tcp6,udp,udp6} -> socket inode -> pid -> comm.

Also binds the sockets that reserve published ports while a container lives:
bound but never listening, so no traffic is ever accepted on them, yet no other
process can bind the port (we never set SO_REUSEADDR).
"""

from __future__ import annotations

import errno
import os
from collections import namedtuple

from sampan.errors import Conflict, NetworkError
from sampan.network.ports import PortMapping, overlap_ip

TYPE_CHECKING = False  # socket (~3 ms) is imported by the functions that bind or decode
if TYPE_CHECKING:
    import socket

TCP_TIME_WAIT = "06"  # inode 0, owned by nobody: never a holder


class HostSocket(namedtuple("HostSocket", "proto ip port inode")):
    __slots__ = ()  # fields (types for the reader):
    # proto: str
    # ip: str     # "" for a wildcard (0.0.0.0 or ::)
    # port: int
    # inode: int


def _decode_addr(hex_addr: str) -> str:
    """/proc/net addresses are the in-memory words printed in hex (little-endian here)."""
    import socket
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
        return "" if ip == "0.0.0.0" else ip
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    ip = socket.inet_ntop(socket.AF_INET6, words)
    if ip == "::":
        return ""
    if ip.startswith("::ffff:") and "." in ip:
        return ip[7:]  # v4-mapped: clashes like the v4 address
    return "[" + ip + "]"


def parse_proc_net(text: str, proto: str) -> list[HostSocket]:
    out = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 10:
            continue
        if f[3] == TCP_TIME_WAIT and proto == "tcp":
            continue
        addr, _, port_hex = f[1].rpartition(":")
        out.append(HostSocket(proto, _decode_addr(addr), int(port_hex, 16), int(f[9])))
    return out


def host_sockets(proto: str, port: int | None = None) -> list[HostSocket]:
    found: list[HostSocket] = []
    for suffix in ("", "6"):
        try:
            with open(f"/proc/net/{proto}{suffix}") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        found.extend(s for s in parse_proc_net(text, proto) if port is None or s.port == port)
    return found


def _clashes(m: PortMapping, s: HostSocket) -> bool:
    if s.ip.startswith("["):
        return not m.host_ip  # a specific IPv6 address only meets our wildcard
    return overlap_ip(m.host_ip, s.ip)


def pids_by_inode(inodes: set[int]) -> dict[int, int]:
    """Scan /proc/*/fd for 'socket:[inode]' links. Slow-ish: only on a conflict."""
    wanted = {f"socket:[{i}]": i for i in inodes}
    found: dict[int, int] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None and inode not in found:
                found[inode] = int(pid)
        if len(found) == len(wanted):
            break
    return found


def comm_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def host_holder(m: PortMapping) -> str | None:
    """'pid 1234 (python3)' when a host socket holds m's port, else None."""
    clashing = [s for s in host_sockets(m.proto, m.host_port) if _clashes(m, s)]
    if not clashing:
        return None
    owners = pids_by_inode({s.inode for s in clashing if s.inode})
    for s in clashing:
        pid = owners.get(s.inode)
        if pid is not None:
            return f"pid {pid} ({comm_of(pid)})"
    return "a socket of another process or namespace"


def _sock_type(proto: str) -> int:
    import socket
    return socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM


def bind_reservation(m: PortMapping) -> socket.socket:
    """Bind m's host side (port 0 lets the kernel choose). Raises OSError as the kernel says."""
    import socket
    s = socket.socket(socket.AF_INET, _sock_type(m.proto))
    try:
        s.bind((m.bind_ip, m.host_port))
    except BaseException:
        s.close()
        raise
    return s


def reserve(m: PortMapping) -> socket.socket:
    """Bind m's host port for the life of the container; a clash becomes a Conflict naming the holder."""
    try:
        return bind_reservation(m)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            holder = host_holder(m) or "another process"
            raise Conflict(f"{m.label()} is in use by {holder}; "
                           "choose another host port") from None
        if e.errno == errno.EADDRNOTAVAIL:
            raise Conflict(f"cannot publish on {m.host_addr()}: {m.bind_ip} is not an address "
                           "of this host") from None
        raise NetworkError(f"cannot reserve {m.label()}: {e.strerror}") from None
