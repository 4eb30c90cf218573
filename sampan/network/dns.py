"""Containers' /etc/resolv.conf and /etc/hosts.

resolv.conf follows Docker: the host's file with loopback nameservers (a local
stub such as systemd-resolved's 127.0.0.53 cannot be reached from another
netns) dropped; systemd-resolved's upstream list is used when the host's file
only names the stub; 8.8.8.8/8.8.4.4 when nothing remains.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterable

    from sampan.network.types import Attachment, Peer

FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf"


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("%")[0]).is_loopback
    except ValueError:
        return False


def _nameservers(lines: list[str]) -> list[str]:
    return [ln.split()[1] for ln in lines if ln.split()[:1] == ["nameserver"] and len(ln.split()) > 1]


def filter_resolv_conf(text: str, upstream: str | None = None) -> bytes:
    lines = text.splitlines()
    servers = _nameservers(lines)
    if servers and all(_is_loopback(s) for s in servers) and upstream:
        up_servers = [s for s in _nameservers(upstream.splitlines()) if not _is_loopback(s)]
        if up_servers:
            lines = upstream.splitlines()
    out = [ln for ln in lines
           if not (ln.split()[:1] == ["nameserver"] and len(ln.split()) > 1 and _is_loopback(ln.split()[1]))]
    if not _nameservers(out):
        out += [f"nameserver {s}" for s in FALLBACK_NAMESERVERS]
    return ("\n".join(out).strip("\n") + "\n").encode()


def with_search_options(resolv: bytes, search: list[str] | None, options: list[str] | None) -> bytes:
    """--dns-search and --dns-option replace the file's search and options lines, as Docker;
    `--dns-search .` leaves no search line."""
    if not search and not options:
        return resolv
    lines = resolv.decode(errors="replace").splitlines()
    if search:
        lines = [ln for ln in lines if ln.split()[:1] not in (["search"], ["domain"])]
        domains = [d for d in search if d != "."]
        if domains:
            lines.append("search " + " ".join(domains))
    if options:
        lines = [ln for ln in lines if ln.split()[:1] != ["options"]]
        lines.append("options " + " ".join(options))
    return ("\n".join(lines).strip("\n") + "\n").encode()


def host_resolv_conf(path: str = "/etc/resolv.conf") -> bytes:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        text = ""
    upstream = None
    if os.path.exists(RESOLVED_UPSTREAM):
        try:
            upstream = Path(RESOLVED_UPSTREAM).read_text(errors="replace")
        except OSError:
            upstream = None
    return filter_resolv_conf(text, upstream)


def resolv_conf_via(nameserver: str, host_text: bytes | None = None) -> bytes:
    """resolv.conf for a container on a user network: the network's resolver as the only
    nameserver (it forwards what it does not know to the host's), the host's search
    domains and options, and ndots:0 as Docker adds for its embedded resolver."""
    text = (host_text if host_text is not None else host_resolv_conf()).decode(errors="replace")
    kept = [ln for ln in text.splitlines() if ln.split()[:1] in (["search"], ["domain"], ["options"])]
    if not any(ln.split()[:1] == ["options"] and "ndots:" in ln for ln in kept):
        kept.append("options ndots:0")
    return ("\n".join([f"nameserver {nameserver}", *kept]) + "\n").encode()


def hosts_file(hostname: str, attachment: Attachment | None, peers: Iterable[Peer] = ()) -> bytes:
    """/etc/hosts: loopback lines, this container's own name on its address, then its peers."""
    lines = ["127.0.0.1\tlocalhost",
             "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet",
             "ff00::0\tip6-mcastprefix",
             "ff02::1\tip6-allnodes",
             "ff02::2\tip6-allrouters"]
    # a dotted host name (host.domain: --domainname) is followed by its short form, as Docker's
    short = hostname.split(".", 1)[0] if "." in hostname else ""
    own = [n for n in dict.fromkeys((hostname, short, *(attachment.aliases if attachment else ()))) if n]
    if attachment is not None:
        lines.append(f"{attachment.ip}\t{' '.join(own)}" if own else "")
    elif own:
        lines.append(f"127.0.1.1\t{' '.join(own)}")  # no network: still resolve our own name
    for p in peers:
        if attachment is not None and p.cid == attachment.cid:
            continue
        names = [n for n in dict.fromkeys(p.names) if n]
        if names:
            lines.append(f"{p.ip}\t{' '.join(names)}")
    return ("\n".join(ln for ln in lines if ln) + "\n").encode()


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Containers see /etc/hosts through a file bind mount: replacing the inode
    (rename) would leave them the old one, so truncate and write instead."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    finally:
        os.close(fd)
