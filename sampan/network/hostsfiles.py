"""Keeping containers' /etc/hosts current: own names, then peers on every user network.

A container's hosts file path is remembered with its attachments (any of them);
the file is rewritten in place whenever a peer on one of its user networks comes
or goes. The default network gives no names, as Docker's does not.
"""

from __future__ import annotations

from pathlib import Path

from sampan.network import dns
from sampan.network.netdb import ACTIVE, NetDB
from sampan.network.types import Peer

DEFAULT_NETWORK = "bridge"


class HostsFiles:
    def __init__(self, store: NetDB):
        self.store = store

    def peers(self, network: str) -> list[Peer]:
        return [] if network == DEFAULT_NETWORK else self.store.peers(network)

    def path_of(self, cid: str) -> str:
        for r in self.store.attachment_rows("cid=? AND hosts_path!=''", (cid,)):
            return r["hosts_path"]
        return ""

    def render(self, cid: str) -> bytes | None:
        atts = sorted(self.store.attachments_of(cid), key=lambda a: a.ifname)
        if not atts:
            return None
        primary = atts[0]
        aliases = tuple(dict.fromkeys(al for a in atts for al in a.aliases))
        peers = [p for a in atts for p in self.peers(a.network)]
        return dns.hosts_file(primary.hostname, primary._replace(aliases=aliases), peers)

    def write(self, cid: str) -> None:
        path = self.path_of(cid)
        data = self.render(cid) if path else None
        if path and data is not None:
            try:  # the container's own --add-host lines, kept by the engine beside the file
                data += Path(path + ".extra").read_bytes()
            except OSError:
                pass
            try:
                dns.rewrite_in_place(Path(path), data)
            except OSError:
                pass  # that container's files are going away

    def refresh(self, network: str) -> None:
        """Rewrite the hosts file of every container on `network` that has one."""
        if network == DEFAULT_NETWORK:
            return
        rows = self.store.attachment_rows("network=? AND state=?", (network, ACTIVE))
        for cid in dict.fromkeys(r["cid"] for r in rows):
            self.write(cid)
