"""The network package's own tables in sampan.db."""

from __future__ import annotations

import json
import sqlite3

from sampan.network.ports import PortMapping
from sampan.network.types import Attachment, NetworkInfo, Peer
from sampan.state.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS net_networks (
    name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, bridge TEXT NOT NULL UNIQUE,
    subnet TEXT NOT NULL, gateway TEXT NOT NULL, internal INTEGER NOT NULL,
    labels TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS net_attachments (
    cid TEXT NOT NULL, network TEXT NOT NULL, cni_id TEXT NOT NULL, ifname TEXT NOT NULL,
    ip TEXT NOT NULL, prefix INTEGER NOT NULL, gateway TEXT NOT NULL, mac TEXT NOT NULL,
    host_veth TEXT NOT NULL, netns TEXT NOT NULL, conflist TEXT NOT NULL, result TEXT NOT NULL,
    aliases TEXT NOT NULL, hostname TEXT NOT NULL, hosts_path TEXT NOT NULL,
    state TEXT NOT NULL, PRIMARY KEY (cid, network));
CREATE TABLE IF NOT EXISTS net_ports (
    cid TEXT NOT NULL, network TEXT NOT NULL, host_ip TEXT NOT NULL, host_port INTEGER NOT NULL,
    proto TEXT NOT NULL, container_port INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS net_ports_by_port ON net_ports (host_port, proto);
"""

ACTIVE = "active"
TEARING = "tearing"   # DEL handed to a background process
SPARE = "spare"       # a sandbox attached ahead of time, waiting for a container to claim it


class NetDB:
    def __init__(self, db: Database):
        self.db = db
        db.ensure_schema("network", SCHEMA)

    # --- networks ---
    @staticmethod
    def _net(r: sqlite3.Row) -> NetworkInfo:
        return NetworkInfo(r["name"], r["id"], r["bridge"], r["subnet"], r["gateway"], bool(r["internal"]),
                           json.loads(r["labels"]), r["created"])

    def networks(self) -> list[NetworkInfo]:
        return [self._net(r) for r in self.db.conn.execute("SELECT * FROM net_networks ORDER BY created")]

    def network(self, name: str) -> NetworkInfo | None:
        r = self.db.conn.execute("SELECT * FROM net_networks WHERE name=? OR id=?", (name, name)).fetchone()
        if r is None and len(name) >= 3 and all(c in "0123456789abcdef" for c in name):  # ids are hex: no LIKE wildcards
            rows = self.db.conn.execute("SELECT * FROM net_networks WHERE id LIKE ?", (name + "%",)).fetchall()
            r = rows[0] if len(rows) == 1 else None
        return self._net(r) if r else None

    def insert_network(self, conn: sqlite3.Connection, n: NetworkInfo) -> None:
        conn.execute("INSERT INTO net_networks VALUES (?,?,?,?,?,?,?,?)",
                     (n.name, n.id, n.bridge, n.subnet, n.gateway, int(n.internal), json.dumps(n.labels),
                      n.created))

    def delete_network(self, name: str) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM net_networks WHERE name=?", (name,))

    # --- attachments ---
    @staticmethod
    def _att(r: sqlite3.Row, ports: list[PortMapping]) -> Attachment:
        return Attachment(r["cid"], r["network"], r["ifname"], r["ip"], r["prefix"], r["gateway"], r["mac"],
                          r["host_veth"], tuple(ports), tuple(json.loads(r["aliases"])), r["hostname"])

    def _ports(self, cid: str, network: str) -> list[PortMapping]:
        rows = self.db.conn.execute("SELECT * FROM net_ports WHERE cid=? AND network=?", (cid, network))
        return [PortMapping(r["container_port"], r["host_port"], r["host_ip"], r["proto"]) for r in rows]

    def attachment_rows(self, where: str = "1", args: tuple = ()) -> list[sqlite3.Row]:
        return self.db.conn.execute(f"SELECT * FROM net_attachments WHERE {where}", args).fetchall()

    def attachment(self, cid: str, network: str) -> tuple[Attachment, sqlite3.Row] | None:
        rows = self.attachment_rows("cid=? AND network=?", (cid, network))
        if not rows:
            return None
        return self._att(rows[0], self._ports(cid, network)), rows[0]

    def attachments_of(self, cid: str) -> list[Attachment]:
        return [self._att(r, self._ports(r["cid"], r["network"])) for r in self.attachment_rows("cid=?", (cid,))]

    def insert_attachment(self, a: Attachment, netns: str, conflist: dict, result: dict, hosts_path: str,
                          state: str = ACTIVE) -> None:
        with self.db.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO net_attachments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         (a.cid, a.network, a.cid, a.ifname, a.ip, a.prefix, a.gateway, a.mac, a.host_veth,
                          netns, json.dumps(conflist), json.dumps(result), json.dumps(list(a.aliases)),
                          a.hostname, hosts_path, state))
            conn.execute("DELETE FROM net_ports WHERE cid=? AND network=?", (a.cid, a.network))
            conn.executemany("INSERT INTO net_ports VALUES (?,?,?,?,?,?)",
                             [(a.cid, a.network, m.host_ip, m.host_port, m.proto, m.container_port)
                              for m in a.ports])

    def claim_spare(self, network: str, cid: str, aliases: tuple[str, ...], hostname: str,
                    hosts_path: str) -> sqlite3.Row | None:
        """Hand one spare sandbox of `network` to container cid (atomic: one claimer wins)."""
        with self.db.tx() as conn:
            row = conn.execute("SELECT cid FROM net_attachments WHERE network=? AND state=? LIMIT 1",
                               (network, SPARE)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE net_attachments SET cid=?, aliases=?, hostname=?, hosts_path=?, state=? "
                         "WHERE cid=? AND network=?", (cid, json.dumps(list(aliases)), hostname, hosts_path,
                                                      ACTIVE, row["cid"], network))
        return self.attachment_rows("cid=? AND network=?", (cid, network))[0]

    def take_spare(self, cid: str) -> bool:
        """Mark the spare sandbox cid for teardown, unless a container claimed it first
        (atomic with claim_spare: a sandbox in state tearing is never handed out)."""
        with self.db.tx() as conn:
            return conn.execute("UPDATE net_attachments SET state=? WHERE cid=? AND state=?",
                                (TEARING, cid, SPARE)).rowcount > 0

    def rename_alias(self, cid: str, old: str, new: str) -> list[str]:
        """Container cid is now called `new`: its attachments answer to that name instead of
        `old`. Returns the networks whose peers must hear of it."""
        changed = []
        with self.db.tx() as conn:
            for r in conn.execute("SELECT network, aliases FROM net_attachments WHERE cid=? AND state=?",
                                  (cid, ACTIVE)).fetchall():
                aliases = [new if a == old else a for a in json.loads(r["aliases"])]
                conn.execute("UPDATE net_attachments SET aliases=? WHERE cid=? AND network=?",
                             (json.dumps(list(dict.fromkeys(aliases))), cid, r["network"]))
                changed.append(r["network"])
        return changed

    def set_ports(self, cid: str, network: str, ports: tuple[PortMapping, ...]) -> None:
        """The host ports cid publishes on network (none: unpublished)."""
        with self.db.tx() as conn:
            conn.execute("DELETE FROM net_ports WHERE cid=? AND network=?", (cid, network))
            conn.executemany("INSERT INTO net_ports VALUES (?,?,?,?,?,?)",
                             [(cid, network, m.host_ip, m.host_port, m.proto, m.container_port) for m in ports])

    def recycle_as_spare(self, cid: str, network: str, spare_id: str, max_spares: int) -> bool:
        """Turn cid's (port-less) attachment into a spare sandbox, unless enough spares wait."""
        with self.db.tx() as conn:
            waiting = conn.execute("SELECT COUNT(*) FROM net_attachments WHERE network=? AND state=?",
                                   (network, SPARE)).fetchone()[0]
            if waiting >= max_spares:
                return False
            if conn.execute("SELECT 1 FROM net_ports WHERE cid=?", (cid,)).fetchone():
                return False
            n = conn.execute("UPDATE net_attachments SET cid=?, aliases='[]', hostname='', hosts_path='', "
                             "state=? WHERE cid=? AND network=? AND state=?",
                             (spare_id, SPARE, cid, network, ACTIVE)).rowcount
            return n == 1

    def set_state(self, cid: str, network: str, state: str) -> None:
        with self.db.tx() as conn:
            conn.execute("UPDATE net_attachments SET state=? WHERE cid=? AND network=?", (state, cid, network))

    def delete_attachment(self, cid: str, network: str) -> None:
        with self.db.tx() as conn:
            conn.execute("DELETE FROM net_attachments WHERE cid=? AND network=?", (cid, network))
            conn.execute("DELETE FROM net_ports WHERE cid=? AND network=?", (cid, network))

    def count_attachments(self, network: str) -> int:
        """Containers attached (spare sandboxes are not containers)."""
        return self.db.conn.execute("SELECT COUNT(*) FROM net_attachments WHERE network=? AND state!=?",
                                    (network, SPARE)).fetchone()[0]

    def peers(self, network: str) -> list[Peer]:
        rows = self.attachment_rows("network=? AND state=?", (network, ACTIVE))
        return [Peer(r["cid"], r["ip"], tuple(n for n in (r["hostname"], *json.loads(r["aliases"])) if n))
                for r in rows]

    def port_holders(self, host_port: int, proto: str) -> list[tuple[str, str, str]]:
        """(cid, host_ip, state) of every attachment publishing host_port/proto."""
        rows = self.db.conn.execute(
            "SELECT p.cid, p.host_ip, a.state FROM net_ports p JOIN net_attachments a "
            "ON a.cid=p.cid AND a.network=p.network WHERE p.host_port=? AND p.proto=?", (host_port, proto))
        return [(r[0], r[1], r[2]) for r in rows]
