"""Container names by DNS on user networks, served by aardvark-dns.

Docker answers `nslookup db` on a user network from a resolver inside the engine;
sampan has no daemon to hold one, so it runs Podman's aardvark-dns (Debian's
`aardvark-dns` package): a ~3 MiB process that listens on each network's gateway
address, port 53, answers for the containers that share a network with the asker,
and forwards other names to the host's resolvers. Its configuration is one file per
network (named by the bridge) in a directory under the runroot:

    <gateway>
    <container id> <ipv4> <ipv6, empty> <name,alias,...>

and it rereads them on SIGHUP, exiting by itself when no file is left. Two
directories, so two processes at most per root: one for internal networks runs
with AARDVARK_NO_PROXY (no query leaves an internal network through it) and one
forwards. Without aardvark-dns, names resolve through /etc/hosts only.

Names are hostile input (an alias comes from an API client): only DNS-safe labels
are written, so a newline or a comma cannot add entries to the file.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from sampan.state.lock import file_lock

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    from typing import Iterable

    from sampan.network.types import NetworkInfo, Peer

SEARCH_PATHS = ("/usr/libexec/podman/aardvark-dns", "/usr/lib/podman/aardvark-dns")
PORT = 53
_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})\Z")
_READY_WAIT = 2.0  # aardvark says it is ready before it binds: wait this long for the socket


def binary() -> str | None:
    """aardvark-dns's path: $SAMPAN_AARDVARK (empty: disabled), else where distributions
    install it (it is a helper of Podman's, not on PATH)."""
    chosen = os.environ.get("SAMPAN_AARDVARK")
    if chosen is not None:
        return chosen if chosen and os.access(chosen, os.X_OK) else None
    return next((p for p in SEARCH_PATHS if os.access(p, os.X_OK)), None)


def safe_names(names: Iterable[str]) -> list[str]:
    return [n for n in dict.fromkeys(names) if _NAME.match(n) and ".." not in n]


def render(gateway: str, peers: Iterable[Peer], servers: dict[str, list[str]] | None = None) -> str:
    """servers: a container's own upstream resolvers (`--dns`), by container id."""
    lines = [gateway]
    for p in peers:
        names = safe_names(p.names)
        if names and re.fullmatch(r"[0-9a-z]+", p.cid):
            own = ",".join((servers or {}).get(p.cid, ()))
            lines.append(f"{p.cid} {p.ip}  {','.join(names)}" + (f" {own}" if own else ""))
    return "\n".join(lines) + "\n"


def _ip(s: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


class Resolver:
    """The aardvark-dns processes of one state root."""

    def __init__(self, runroot: Path, aardvark: str | None = None) -> None:
        self.base = runroot / "dns"
        self.aardvark = aardvark if aardvark is not None else binary()

    @property
    def available(self) -> bool:
        return bool(self.aardvark)

    def set_servers(self, cid: str, servers: list[str]) -> None:
        """A container's `--dns` servers: the resolver forwards its other questions there
        (as Docker's does) instead of to the host's. Set before the container's attach."""
        d = self.base / "servers"
        if servers:
            d.mkdir(parents=True, exist_ok=True)
            (d / cid).write_text("\n".join(s for s in servers if _ip(s)) + "\n")
        else:
            self.forget_servers(cid)

    def forget_servers(self, cid: str) -> None:
        """Drop cid's `--dns` servers and its links' aliases (it is released)."""
        for sub in ("servers", "links"):
            try:
                (self.base / sub / cid).unlink()
            except FileNotFoundError:
                pass

    def set_links(self, cid: str, links: list[tuple[str, str]]) -> None:
        """cid's `--link`s on a user network, (linked container id, alias) pairs: the
        resolver answers each alias with the linked container's address while cid is
        attached (Docker scopes the alias to cid alone; aardvark serves the network's
        peers, so here every peer of the network can ask it). Set before cid attaches."""
        d = self.base / "links"
        if not links:
            try:
                (d / cid).unlink()
            except FileNotFoundError:
                pass
            return
        d.mkdir(parents=True, exist_ok=True)
        (d / cid).write_text("".join(f"{child} {alias}\n" for child, alias in links
                                     if re.fullmatch(r"[0-9a-z]+", child) and safe_names([alias])))

    def _with_link_aliases(self, peers: list[Peer]) -> list[Peer]:
        """peers, each with the aliases its linkers on the network gave it."""
        try:
            have = set(os.listdir(self.base / "links"))
        except FileNotFoundError:
            return peers  # nobody linked: no read per container
        extra: dict[str, list[str]] = {}
        for p in peers:
            if p.cid in have:
                try:
                    lines = (self.base / "links" / p.cid).read_text().splitlines()
                except OSError:
                    continue
                for line in lines:
                    child, _, alias = line.partition(" ")
                    extra.setdefault(child, []).append(alias)
        return [p._replace(names=(*p.names, *extra[p.cid])) if p.cid in extra else p for p in peers]

    def _servers_of(self, peers: list[Peer]) -> dict[str, list[str]]:
        try:
            have = set(os.listdir(self.base / "servers"))
        except FileNotFoundError:
            return {}  # nobody gave --dns: no read per container
        out = {}
        for p in peers:
            if p.cid in have:
                try:
                    out[p.cid] = [s for s in (self.base / "servers" / p.cid).read_text().split() if _ip(s)]
                except OSError:
                    pass
        return out

    def dir_for(self, info: NetworkInfo) -> Path:
        return self.base / ("internal" if info.internal else "open")

    def publish(self, info: NetworkInfo, peers: list[Peer]) -> None:
        """Make `info`'s file say `peers` and have aardvark serve it (started if needed);
        with no peers the file goes, and aardvark exits when it was the last."""
        if not self.available:
            return
        d = self.dir_for(info)
        d.mkdir(parents=True, exist_ok=True)
        path = d / info.bridge
        # aardvark reads every file in d as a network's: the lock and the file being
        # written live beside d, not in it
        with file_lock(self.base / f"{d.name}.lock"):
            if peers:
                tmp = self.base / f"{d.name}-{info.bridge}.tmp"
                tmp.write_text(render(info.gateway, self._with_link_aliases(peers), self._servers_of(peers)))
                os.replace(tmp, path)
            elif path.exists():
                path.unlink()
            else:
                return
            self._reload(d, info.gateway if peers else None, info.internal)

    def withdraw(self, info: NetworkInfo) -> None:
        """`network rm`: its file goes."""
        self.publish(info, [])

    def pid(self, d: Path) -> int | None:
        try:
            pid = int((d / "aardvark.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(d).encode() in cmdline and b"aardvark-dns" in os.path.basename(cmdline[0]) \
            else None

    def pids(self) -> list[int]:
        """Running aardvark-dns processes of this root (tests check that none is left)."""
        found = (self.pid(self.base / sub) for sub in ("open", "internal"))
        return [p for p in found if p is not None]

    def _reload(self, d: Path, gateway: str | None, internal: bool) -> None:
        pid = self.pid(d)
        configs = [p for p in d.iterdir() if p.name != "aardvark.pid"]
        if pid is not None:
            # A reload closes every socket and binds new ones: wait for gateway's new one,
            # so that the container we are starting never asks before it is there.
            before = _udp53_inodes()
            os.kill(pid, 1)  # SIGHUP: reread the files
            if not configs:
                _wait_gone(pid)  # so that a publish after us starts a new one, not HUPs a dying one
                return
        elif not configs:
            return
        else:
            before = set()
            self._start(d, internal)
        if gateway:
            _wait_bound(gateway, before)

    def _start(self, d: Path, internal: bool) -> None:
        import subprocess
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        if internal:
            env["AARDVARK_NO_PROXY"] = "1"
        # `run` forks the server into its own session and returns once it has written
        # its pid file; the server then outlives us.
        subprocess.run([str(self.aardvark), "--config", str(d), "--port", str(PORT), "run"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env, close_fds=True, check=False, timeout=10)


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + _READY_WAIT
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.01)


def _udp53_inodes(ip: str | None = None) -> set[str]:
    """Inodes of the UDP sockets bound to port 53 (on ip, if given), from /proc/net/udp."""
    want = None if ip is None else "%08X:%04X" % (int.from_bytes(bytes(int(x) for x in ip.split(".")), "little"), PORT)
    port = ":%04X" % PORT
    found = set()
    try:
        with open("/proc/net/udp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(port) and (want is None or fields[1] == want):
                    found.add(fields[9])
    except OSError:
        pass
    return found


def _wait_bound(ip: str, old: set[str]) -> None:
    """Until a UDP socket not in `old` is bound to ip:53, or _READY_WAIT passes."""
    deadline = time.monotonic() + _READY_WAIT
    while time.monotonic() < deadline:
        if _udp53_inodes(ip) - old:
            return
        time.sleep(0.002)
