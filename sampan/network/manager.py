"""NetworkManager: the one object the engine uses for networks, netns and ports."""

from __future__ import annotations

import builtins
import ipaddress
import json
import os
import time
from pathlib import Path

from sampan.errors import Conflict, InvalidArgument, NetworkError, NetworkNotFound
from sampan.oci.digest import sha256_hex_small
from sampan.network import bridges, cni, dns, hostrules, netns as netns_mod, subnets
from sampan.network.conflist import (build_conflist, forward_policy_drops, runtime_config,
                                     start_forward_policy_probe)
from sampan.network.netdb import ACTIVE, SPARE, NetDB
from sampan.network.ports import PortMapping
from sampan.network.hostsfiles import HostsFiles
from sampan.network.resolver import Resolver
from sampan.network.portbook import PortBook
from sampan.network.teardown import Teardown
from sampan.network.types import Attachment, NetworkInfo, Peer
from sampan.state.db import Database
from sampan.state.lock import file_lock
from sampan.state.paths import Paths

TYPE_CHECKING = False  # typing costs ~3 ms to import; its names serve annotations only
if TYPE_CHECKING:
    import socket
    from typing import Callable, Iterable

DEFAULT_NETWORK = "bridge"
# Host-wide: two sampan roots (parallel tests) must not pick the same subnet.
SUBNET_LOCK = Path("/run/lock/sampan-subnets.lock")


def _root_tag(paths: Paths) -> str:
    return sha256_hex_small(str(paths.root).encode())[:6]


class NetworkManager:
    def __init__(self, paths: Paths, db: Database, cni_path: str = cni.DEFAULT_CNI_PATH):
        self.paths = paths
        self._tag: str | None = None
        self.store = NetDB(db)
        self.cni_path = cni_path
        self.teardown = Teardown(paths, self.store, cni_path)
        self.ports = PortBook(self.store, self.teardown)
        self.hosts = HostsFiles(self.store)
        self._resolver: Resolver | None = None

    @property
    def tag(self) -> str:
        """Short hash of the root that names this root's bridges; computed when a network
        is made, not per command."""
        if self._tag is None:
            self._tag = _root_tag(self.paths)
        return self._tag

    # --- layout ---
    @property
    def state_dir(self) -> Path:
        return self.paths.root / "networks"

    @property
    def ipam_dir(self) -> Path:
        return self.state_dir / "ipam"

    def netns_path(self, cid: str) -> Path:
        return self.paths.runroot / "netns" / cid

    # --- networks ---
    def create(self, name: str, subnet: str | None = None, gateway: str | None = None,
               internal: bool = False, labels: dict[str, str] | None = None) -> NetworkInfo:
        """`network create`: a subnet that nothing on the host routes yet, a bridge holding it."""
        bridges.check_name(name)
        return self._create(name, subnet, gateway, internal, labels)

    def _create(self, name: str, subnet: str | None, gateway: str | None, internal: bool,
                labels: dict[str, str] | None) -> NetworkInfo:
        with file_lock(self.paths.locks / "network.lock"), file_lock(SUBNET_LOCK):
            if self.store.network(name):
                raise Conflict(f"network {name} already exists; pick another name or remove it first")
            taken = subnets.host_networks() + [ipaddress.IPv4Network(n.subnet) for n in self.store.networks()]
            if subnet:
                net = subnets.parse_subnet(subnet)
                clash = next((t for t in taken if t.overlaps(net)), None)
                if clash is not None:
                    raise Conflict(f"subnet {net} overlaps {clash}, already in use on this host; "
                                   "choose another --subnet")
            else:
                net = subnets.pick_subnet(taken)
            bridge = bridges.free_name(self.tag, {n.bridge for n in self.store.networks()})
            info = NetworkInfo(name, os.urandom(32).hex(), bridge, str(net), subnets.check_gateway(net, gateway),
                               internal, dict(labels or {}), time.time())
            # The bridge gets its gateway address now so that its route claims the
            # subnet for every other sampan root before we release the host-wide lock.
            bridges.make(info)
            try:
                if not internal:
                    hostrules.ensure_masquerade(info.bridge, info.subnet)
                with self.store.db.tx() as conn:
                    self.store.insert_network(conn, info)
            except BaseException:
                hostrules.remove_masquerade(info.bridge, info.subnet)
                bridges.delete(info.bridge)
                raise
        return info

    def list(self) -> list[NetworkInfo]:
        return self.store.networks()

    def inspect(self, name: str) -> NetworkInfo:
        info = self.store.network(name)
        if info is None:
            if name == DEFAULT_NETWORK:
                return self.default()
            raise NetworkNotFound(f"network {name} not found; `sampan network ls` lists them")
        return info

    def containers(self, name: str) -> builtins.list[Attachment]:
        """Attachments on network `name` (for `network inspect`)."""
        info = self.inspect(name)
        found = (self.store.attachment(r["cid"], info.name)
                 for r in self.store.attachment_rows("network=? AND state!=?", (info.name, SPARE)))
        return [f[0] for f in found if f is not None]

    def remove(self, name: str) -> None:
        import shutil
        info = self.inspect(name)
        if info.name == DEFAULT_NETWORK:
            raise Conflict("bridge is the default network and cannot be removed")
        self.settle(network=info.name)
        self._drop_spares(info.name)
        n = self.store.count_attachments(info.name)
        if n:
            raise Conflict(f"network {info.name} has {n} attached container(s); stop or disconnect them first")
        self.resolver.withdraw(info)
        hostrules.remove_masquerade(info.bridge, info.subnet)
        bridges.delete(info.bridge)
        shutil.rmtree(self.ipam_dir / info.bridge, ignore_errors=True)
        self.store.delete_network(info.name)

    def prune(self) -> builtins.list[str]:
        removed = []
        for info in self.store.networks():
            if info.name != DEFAULT_NETWORK and not self.store.count_attachments(info.name):
                self.remove(info.name)
                removed.append(info.name)
        return removed

    def default(self) -> NetworkInfo:
        info = self.store.network(DEFAULT_NETWORK)
        if info is not None:
            return info
        try:
            return self._create(DEFAULT_NETWORK, None, None, False, None)
        except Conflict:
            found = self.store.network(DEFAULT_NETWORK)  # created meanwhile by another process
            if found is None:
                raise
            return found

    def destroy_default(self) -> None:
        """Remove the default network too (tests, `system reset`): nothing may be attached."""
        import shutil
        info = self.store.network(DEFAULT_NETWORK)
        if info is None:
            return
        self.settle(network=DEFAULT_NETWORK)
        self._drop_spares(DEFAULT_NETWORK)
        if self.store.count_attachments(DEFAULT_NETWORK):
            raise Conflict("the default network still has attached containers")
        hostrules.remove_masquerade(info.bridge, info.subnet)
        bridges.delete(info.bridge)
        shutil.rmtree(self.ipam_dir / info.bridge, ignore_errors=True)
        self.store.delete_network(DEFAULT_NETWORK)

    # --- namespaces ---
    def create_netns(self, cid: str) -> Path:
        return netns_mod.create_netns(self.netns_path(cid))

    def remove_netns(self, path: Path) -> None:
        netns_mod.remove_netns(Path(path))

    # --- ports ---
    def check_ports(self, mappings: Iterable[PortMapping],
                    owner_lookup: Callable[[str], str | None] | None = None) -> builtins.list[PortMapping]:
        """Resolve host_port 0 to free ports; raise Conflict naming the holder of a taken one
        (owner_lookup maps a container id to the name to show)."""
        return self.ports.check_ports(mappings, owner_lookup)

    def reserve_ports(self, mappings: Iterable[PortMapping], inheritable: bool = False) -> builtins.list[socket.socket]:
        """Bound, never-listening sockets that keep the host ports ours while the caller
        (the container's monitor) keeps them open."""
        return self.ports.reserve_ports(mappings, inheritable)

    def release_picked(self) -> None:
        self.ports.release_picked()

    # --- attach / detach ---
    def attach(self, cid: str, netns: Path, network: str, mappings: Iterable[PortMapping] = (),
               aliases: Iterable[str] = (), hostname: str = "", ifname: str | None = None,
               hosts_path: Path | None = None, ip: str | None = None) -> Attachment:
        """CNI ADD of cid's netns to `network` (bridge, then firewall if needed), then the
        published ports' rules. ip: the address asked for (--ip), else the next free one.
        ifname None picks the next free ethN (eth0 first; `network connect` gets eth1...)."""
        info = self.default() if network == DEFAULT_NETWORK else self.inspect(network)
        if ifname is None:
            used = {a.ifname for a in self.store.attachments_of(cid)}
            ifname = next(f"eth{i}" for i in range(len(used) + 1) if f"eth{i}" not in used)
        mappings = tuple(mappings)
        if any(m.host_port == 0 for m in mappings):
            raise InvalidArgument("attach needs resolved host ports: call check_ports first")
        if self.store.attachment(cid, info.name):
            raise Conflict(f"container {cid[:12]} is already connected to network {info.name}")
        att = self._add(cid, Path(netns), info, mappings, tuple(aliases), hostname, ifname,
                        str(hosts_path or self.hosts.path_of(cid)), ACTIVE, ip)
        self.hosts.write(cid)
        self.names_changed(info.name)
        return att

    def _add(self, cid: str, netns: Path, info: NetworkInfo, mappings: tuple[PortMapping, ...],
             aliases: tuple[str, ...], hostname: str, ifname: str, hosts_path: str, state: str,
             ip: str | None = None) -> Attachment:
        bridges.pin_mac(info)
        call = cni.CniCall(cid, netns, ifname, self.cni_path)
        probe = start_forward_policy_probe()  # runs while the bridge plugin does
        if not info.internal:
            # a network made by an older sampan has the plugin's rules, not this one
            hostrules.ensure_masquerade(info.bridge, info.subnet)
        base = build_conflist(info, self.ipam_dir, firewall=False, ip=ip)
        runtime = runtime_config((), ip)
        try:
            result = cni.invoke("ADD", call, base, base["plugins"][0], None, runtime)
        except BaseException as e:
            forward_policy_drops(probe)
            cni.del_chain(call, base, runtime, None, ignore_errors=True)
            if ip and isinstance(e, NetworkError) and "is not available" in e.message:
                raise Conflict(f"Address already in use: {ip} on network {info.name} belongs to "
                               "another container") from None
            raise
        conflist = build_conflist(info, self.ipam_dir, firewall=forward_policy_drops(probe), ip=ip)
        recorded = False
        try:
            if result is None:
                raise NetworkError(f"CNI bridge ADD returned no result for {cid[:12]}")
            for plugin in conflist["plugins"][1:]:
                result = cni.invoke("ADD", call, conflist, plugin, result, runtime) or result
            att = _attachment_from_result(cid, info, ifname, result, mappings, aliases, hostname)
            # recorded before the rules exist, so whoever finds the record removes them
            self.store.insert_attachment(att, str(netns), conflist, result, hosts_path, state)
            recorded = True
            hostrules.publish(cid, info.bridge, info.subnet, att.ip, mappings)
        except BaseException:
            if recorded and mappings:  # a publish that failed half way, or after it
                _quietly(hostrules.remove_matching, lambda b, c: b == info.bridge and c == cid)
            cni.del_chain(call, conflist, runtime, result, ignore_errors=True)
            if recorded:
                self.store.delete_attachment(cid, info.name)
            raise
        return att

    # --- sandboxes made ahead of time ---
    def setup(self, cid: str, network: str = DEFAULT_NETWORK, mappings: Iterable[PortMapping] = (),
              aliases: Iterable[str] = (), hostname: str = "",
              hosts_path: Path | None = None, ip: str | None = None) -> tuple[Path, Attachment]:
        """netns + attach in one call: claims a spare sandbox when one is ready (a DB
        update, plus one rules transaction if ports are published), else create_netns + attach."""
        info = self.default() if network == DEFAULT_NETWORK else self.inspect(network)
        mappings = tuple(mappings)
        # a spare sandbox has its address already: not one for an address asked for (--ip)
        row = None if ip else self.store.claim_spare(info.name, cid, tuple(aliases), hostname,
                                                     str(hosts_path or ""))
        if row is not None and not netns_mod.is_netns(Path(row["netns"])):
            self.teardown.release_now(cid, None)  # made before a reboot: its namespace is gone
            row = None
        if row is None:
            ns = self.create_netns(cid)
            try:
                return ns, self.attach(cid, ns, info.name, mappings, aliases, hostname, hosts_path=hosts_path,
                                       ip=ip)
            except BaseException:
                # attached perhaps, and then the hosts files failed (a full disk): undo all
                with self.teardown.locked(cid):
                    self.teardown.release_now(cid, ns)
                raise
        ns = Path(row["netns"])
        try:
            if mappings:
                self._publish(cid, info, row, mappings)
            found = self.store.attachment(cid, info.name)
            assert found is not None
            att = found[0]
            self.hosts.write(cid)
            self.names_changed(info.name)
        except BaseException:
            self.release(cid, ns, background=False)
            raise
        return ns, att

    def _publish(self, cid: str, info: NetworkInfo, row, mappings: tuple[PortMapping, ...]) -> None:
        """Ports for a claimed spare: recorded first, then one rules transaction."""
        self.store.set_ports(cid, info.name, mappings)
        try:
            hostrules.publish(cid, info.bridge, info.subnet, row["ip"], mappings)
        except BaseException:
            _quietly(hostrules.remove_matching, lambda b, c: b == info.bridge and c == cid)
            _quietly(self.store.set_ports, cid, info.name, ())
            raise

    def prepare_spare(self, network: str = DEFAULT_NETWORK) -> bool:
        """Make one sandbox on `network` ahead of time (unless one is waiting already)."""
        info = self.default() if network == DEFAULT_NETWORK else self.inspect(network)
        if self.store.attachment_rows("network=? AND state=?", (info.name, SPARE)):
            return False
        sbid = "spare" + os.urandom(16).hex()
        with self.teardown.locked(sbid):  # reconcile() leaves a half-made spare alone
            ns = self.create_netns(sbid)
            try:
                self._add(sbid, ns, info, (), (), "", "eth0", "", SPARE)
            except BaseException:
                self.remove_netns(ns)
                raise
        return True

    def drop_spares(self, network: str = DEFAULT_NETWORK) -> None:
        """Tear down the sandboxes kept ready on `network`."""
        info = self.default() if network == DEFAULT_NETWORK else self.inspect(network)
        self._drop_spares(info.name)

    def drop_all_spares(self) -> int:
        """Tear down every sandbox kept ready on any network of this root (`system prune`,
        and the last container of the root removed): a pool nobody will claim is a veth,
        an address, rules and a namespace left on the host. Background teardowns go first
        (one may be preparing a spare). A spare claimed meanwhile is the claimer's."""
        self.settle()
        dropped = 0
        for r in self.store.attachment_rows("state=?", (SPARE,)):
            if not self.store.take_spare(r["cid"]):
                continue
            with self.teardown.locked(r["cid"]):
                self.teardown.release_now(r["cid"], None)
            dropped += 1
        return dropped

    def _drop_spares(self, network: str) -> None:
        for r in self.store.attachment_rows("network=? AND state=?", (network, SPARE)):
            with self.teardown.locked(r["cid"]):
                self.teardown.release_now(r["cid"], None)

    def detach(self, cid: str, netns: Path, network: str, attachment: Attachment | None = None) -> None:
        """Synchronous DEL of one attachment; idempotent."""
        with self.teardown.locked(cid):
            self.teardown.detach_one(cid, network)
        self.hosts.write(cid)
        self.names_changed(network)

    def recycle(self, cid: str, max_spares: int = 2) -> bool:
        """Keep a finished container's sandbox as a spare for the next container instead of
        tearing it down and making a new one (~250 ms of CNI work saved per container).
        Its published ports are unpublished first (one rules transaction).

        Only for a single attachment on the default network whose namespace still exists;
        the caller vouches that the container could not change its network setup (no
        CAP_NET_ADMIN: without it, addresses, routes, rules and net sysctls are as CNI left
        them). Returns False when the caller should release() instead."""
        rows = self.store.attachment_rows("cid=?", (cid,))
        if len(rows) != 1 or rows[0]["network"] != DEFAULT_NETWORK or rows[0]["state"] != ACTIVE:
            return False
        if not netns_mod.is_netns(Path(rows[0]["netns"])):
            return False
        if hostrules.uses_portmap(json.loads(rows[0]["conflist"])):
            return False  # made by an older sampan: the plugin's DEL removes its rules
        with self.teardown.locked(cid):
            found = self.store.attachment(cid, DEFAULT_NETWORK)
            if found is None or found[1]["state"] != ACTIVE:
                return False  # another cleanup of this container got here first
            if found[0].ports:
                self.teardown.unpublish(found[0], found[1])
                self.store.set_ports(cid, DEFAULT_NETWORK, ())
            if self.store.recycle_as_spare(cid, DEFAULT_NETWORK, "spare" + os.urandom(16).hex(),
                                           max_spares):
                return True
        return False

    def release(self, cid: str, netns: Path, background: bool = True, replenish: bool = False) -> None:
        """Tear down every attachment of cid and its netns. With background=True the
        CNI DELs run in a detached process and this returns at once; host ports stay
        claimed (state 'tearing') until they finish, and check_ports waits for them.
        replenish=True has that process then prepare a spare sandbox on the default
        network for the next container (see setup())."""
        networks = {r["network"] for r in self.store.attachment_rows("cid=?", (cid,))}
        self.resolver.forget_servers(cid)
        self.teardown.release(cid, Path(netns), background, DEFAULT_NETWORK if replenish else "")
        if not background:
            for network in networks:
                self.names_changed(network)

    def release_later(self, cid: str, netns: Path) -> None:
        """release() in a batch: marked now, torn down by sweep_releases()'s process."""
        self.resolver.forget_servers(cid)
        self.teardown.mark_tearing(cid, Path(netns))

    def sweep_releases(self, count: int, replenish: bool = False) -> None:
        """Background processes for every release_later() (and any teardown left): one
        per 50 sandboxes, at most 4."""
        self.teardown.spawn_sweeper(DEFAULT_NETWORK if replenish else "", min(4, 1 + count // 50))

    def release_unrecorded(self, cid: str, network: str = DEFAULT_NETWORK) -> None:
        """Undo an attach of cid that its process may have been killed in the middle of,
        before the attachment was recorded: the bridge plugin may have made a veth, leased
        an address and added NAT rules. CNI DEL is idempotent, so this is harmless when
        nothing was made; then cid's namespace file goes too. Not for a recorded
        attachment: release() tears those down with the configuration they were made with."""
        info = self.store.network(network)
        ns = self.netns_path(cid)
        if info is not None:
            with self.teardown.locked(cid):
                if self.store.attachment_rows("cid=?", (cid,)):
                    return  # recorded after all: release() is the way
                conflist = build_conflist(info, self.ipam_dir, firewall=True)
                cni.del_chain(cni.CniCall(cid, ns, "eth0", self.cni_path), conflist, runtime_config(()),
                              None, ignore_errors=True)
        netns_mod.remove_netns(ns)

    def settle(self, cid: str | None = None, network: str | None = None) -> None:
        """Wait for background teardowns (of cid, or every one of this root) to finish,
        spare sandboxes they prepare included. `network` is accepted for clarity of
        call sites; every teardown is waited for then."""
        if cid is not None:
            self.teardown.wait(cid)
            return
        for lock in sorted(self.paths.locks.glob("net-teardown-*.lock")):
            self.teardown.wait(lock.name[len("net-teardown-"):-len(".lock")])

    def rename(self, cid: str, old: str, new: str) -> None:
        """Peers on cid's networks find it by its new name (`rename` of a running container)."""
        for network in self.store.rename_alias(cid, old, new):
            self.names_changed(network)

    def attachments(self, cid: str) -> builtins.list[Attachment]:
        """cid's interfaces, published ports included (`sampan port`, `inspect`)."""
        return self.store.attachments_of(cid)

    def netns_of(self, cid: str) -> Path | None:
        """The netns cid was set up in (for `--network container:NAME`); a claimed spare's
        path is not netns_path(cid), so ask here."""
        rows = self.store.attachment_rows("cid=?", (cid,))
        if rows:
            return Path(rows[0]["netns"])
        p = self.netns_path(cid)
        return p if netns_mod.is_netns(p) else None

    def reconcile(self, is_alive: Callable[[str], bool]) -> builtins.list[str]:
        """Tear down networking of containers that no longer exist (e.g. monitor kill -9)."""
        return self.teardown.reconcile(is_alive)

    # --- names: /etc/hosts files and DNS ---
    @property
    def resolver(self) -> Resolver:
        if self._resolver is None:
            self._resolver = Resolver(self.paths.runroot)
        return self._resolver

    def names_changed(self, network: str) -> None:
        """A container came to, left or was renamed on `network`: its peers' /etc/hosts
        and the network's DNS answers follow."""
        self.hosts.refresh(network)
        if network != DEFAULT_NETWORK:
            info = self.store.network(network)
            if info is not None:
                self.resolver.publish(info, self.hosts.peers(network))

    def serves_names(self, network: str) -> bool:
        """Whether containers on `network` ask the network's resolver (a user network, and
        aardvark-dns is here)."""
        return network != DEFAULT_NETWORK and self.resolver.available

    def set_dns_servers(self, cid: str, servers: builtins.list[str]) -> None:
        """cid's `--dns` servers, where the resolver forwards what is not a peer's name;
        empty: the host's. Set before cid attaches; dropped when it is released."""
        self.resolver.set_servers(cid, servers)

    def set_link_aliases(self, cid: str, links: builtins.list[tuple[str, str]]) -> None:
        """cid's --links on a user network, (linked container id, alias): names the
        network's resolver answers while cid is attached. Set before cid attaches."""
        self.resolver.set_links(cid, links)

    def resolv_conf(self, network: str = DEFAULT_NETWORK) -> bytes:
        """A container's /etc/resolv.conf: on a user network served by aardvark-dns, its
        gateway (which answers peers' names and forwards the rest); else the host's."""
        if network != DEFAULT_NETWORK and self.resolver.available:
            info = self.store.network(network)
            if info is not None:
                return dns.resolv_conf_via(info.gateway)
        return dns.host_resolv_conf()

    def peers(self, network: str) -> builtins.list[Peer]:
        return self.hosts.peers(network)

    def hosts_file(self, hostname: str, attachment: Attachment | None, peers: Iterable[Peer] = ()) -> bytes:
        return dns.hosts_file(hostname, attachment, peers)

    def refresh_hosts(self, network: str) -> None:
        """Rewrite the /etc/hosts of every container on `network` that gave a hosts_path."""
        self.names_changed(network)


def _attachment_from_result(cid: str, info: NetworkInfo, ifname: str, result: dict,
                            mappings: tuple[PortMapping, ...], aliases: tuple[str, ...],
                            hostname: str) -> Attachment:
    ifaces = result.get("interfaces") or []
    ips = result.get("ips") or []
    if not ips:
        raise NetworkError(f"CNI gave container {cid[:12]} no address on {info.name}")
    ipconf = ips[0]
    iface = ifaces[ipconf["interface"]] if "interface" in ipconf and ipconf["interface"] < len(ifaces) else {}
    host_veth = next((i["name"] for i in ifaces if not i.get("sandbox") and i["name"] != info.bridge), "")
    addr = ipaddress.IPv4Interface(ipconf["address"])
    gw = "" if info.internal else ipconf.get("gateway", info.gateway)
    return Attachment(cid, info.name, ifname, str(addr.ip), addr.network.prefixlen, gw,
                      iface.get("mac", ""), host_veth, mappings, aliases, hostname)


def _quietly(fn, *args) -> None:
    """Best effort, while undoing a failure that is being raised already."""
    try:
        fn(*args)
    except Exception:
        pass
