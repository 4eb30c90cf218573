"""The engine's side of networking: which mode a container asked for, its ports,
and setting the sandbox up at start and releasing it at exit.

Modes as Docker: bridge (the default network), a user network by name, none,
host, and container:NAME (share another container's network namespace).
"""

from __future__ import annotations


from contextlib import contextmanager

from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import InvalidArgument, InvalidState
from sampan.state import explain

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Iterator

    from sampan.engine.container_config import ContainerConfig

BRIDGE = "bridge"


def mode_of(network: str) -> str:
    if network in ("none", "host"):
        return network
    if network.startswith("container:"):
        return "container"
    return "bridge"


def plan(ctx: Context, network: str, publish: list[str], publish_all: bool, exposed: dict | None,
         aliases: list[str], ip: str | None = None) -> dict:
    """Validate the network options at create time: nothing is set up yet."""
    from sampan.network import expose_all, parse_publish_all

    network = BRIDGE if network in ("default", "bridge", "") else network
    mode = mode_of(network)
    ports = parse_publish_all(publish) if publish else []
    if publish_all:
        ports += expose_all((exposed or {}).keys())
    if ports and mode != "bridge":
        raise InvalidArgument(f"published ports are discarded with --network {network}: drop -p/-P")
    if aliases and mode != "bridge":
        raise InvalidArgument("--network-alias works only on bridge and user networks")
    if mode == "bridge" and network != BRIDGE:
        info = nm(ctx).inspect(network)  # NetworkNotFound names it
        if ip:
            ip = check_ip(ip, info)
    elif ip:
        raise InvalidArgument("user specified IP address is supported on user defined networks only")
    if mode == "container":
        other = ctx.containers.find(network.split(":", 1)[1])
        network = "container:" + other.id
    if ports:
        # Fail now, before anything is created, if a port is taken (names the holder).
        nm(ctx).check_ports(ports, owner_lookup=lambda cid: _name_of(ctx, cid))
        nm(ctx).release_picked()
    return {"network": network, "ports": [list(p) for p in ports], "aliases": list(aliases), "ip": ip or None}


def check_ip(ip: str, info) -> str:
    """--ip: an IPv4 address of the network's subnet, not its network, broadcast or gateway
    address (whether another container holds it, the IPAM says at start)."""
    import ipaddress
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        shown = ip if ip.isprintable() and len(ip) <= 64 else repr(ip[:64])  # one line, whatever was sent
        raise InvalidArgument(f"invalid IPv4 address: {shown}") from None
    net = ipaddress.ip_network(info.subnet, strict=False)
    if addr not in net:
        raise InvalidArgument(f"no configured subnet contains IP address {ip} (network {info.name}: {info.subnet})")
    if addr in (net.network_address, net.broadcast_address) or str(addr) == info.gateway:
        raise InvalidArgument(f"IP address {ip} is the network's own address or its gateway: choose another")
    return str(addr)


def nm(ctx: Context):
    cached = ctx.__dict__.get("_network_manager")
    if cached is None:
        from sampan.network import NetworkManager
        cached = ctx.__dict__["_network_manager"] = NetworkManager(ctx.paths, ctx.db)
    return cached


def release_spares(ctx: Context) -> int:
    """Tear down the sandboxes pooled ahead of time for the next containers (`system prune`;
    the root's last container removed). How many went."""
    from sampan.network.netdb import SPARE
    manager = nm(ctx)
    if not manager.store.attachment_rows("state=?", (SPARE,)):
        return 0
    return manager.drop_all_spares()


def _name_of(ctx: Context, cid: str) -> str | None:
    rec = ctx.containers.get(cid)
    return rec.name if rec else None


class Sandbox:
    __slots__ = ("netns", "sockets", "config")

    def __init__(self, netns: str | None = None, sockets: list | None = None,
                 config: ContainerConfig | None = None) -> None:
        self.netns = netns                # path to join; None = a new empty one; "host"
        self.sockets = sockets or []      # host ports held while the container lives
        self.config = config              # the container's config as updated by connect(), if it was

    def close(self) -> None:
        """Drop this process's hold on the host ports (the monitor keeps its own)."""
        for s in self.sockets:
            s.close()


def connect(ctx: Context, rec: ContainerRecord) -> Sandbox:
    """Make the container's network sandbox (before its monitor starts the runtime)."""
    c = rec.config
    mode = mode_of(c["network"])
    if mode == "none":
        return Sandbox()
    if mode == "host":
        return Sandbox(netns="host")
    if mode == "container":
        return Sandbox(netns=_container_netns(ctx, c["network"].split(":", 1)[1]))
    from sampan.network import PortMapping

    manager = nm(ctx)
    if manager.attachments(rec.id):  # left by a crash or a killed monitor: finish that first
        stale = manager.netns_of(rec.id)
        manager.release(rec.id, stale or manager.netns_path(rec.id), background=False)
    maps = [PortMapping(*p) for p in c.get("ports", [])]
    socks = []
    if maps:
        maps = manager.check_ports(maps, owner_lookup=lambda cid: _name_of(ctx, cid))
        socks = manager.reserve_ports(maps)
    netns = None
    try:
        files = ctx.container_files(rec.id)
        # Peers find it by its name and its aliases, as on Docker's user networks.
        aliases = [rec.name] + [a for a in c.get("aliases", []) if a != rec.name]
        user_dns = manager.serves_names(c["network"])
        if user_dns:
            manager.set_dns_servers(rec.id, c.get("dns") or [])
        if c.get("links") or c.get("net_links"):  # on a user network: aliases the resolver answers
            from sampan.engine.links import all_pairs
            manager.set_link_aliases(rec.id, all_pairs(c))
        # the container's own /etc/hosts line: host.domain first with --domainname, as Docker
        own = f"{c['hostname']}.{c['domainname']}" if c.get("domainname") else c["hostname"]
        netns, att = manager.setup(rec.id, c["network"], maps, aliases, own,
                                   hosts_path=files["hosts"], ip=c.get("ip"))
        for other, more in (c.get("more_networks") or {}).items():  # `network connect`ed ones
            manager.attach(rec.id, netns, other, (), [rec.name] + [a for a in more if a != rec.name],
                           c["hostname"], hosts_path=files["hosts"], ip=(c.get("more_ips") or {}).get(other))
        if user_dns or not c.get("dns"):
            # Bind-mounted file: rewrite it in place, not by rename. On a user network the
            # resolver answers peers' names and forwards the rest (to --dns servers if given).
            from sampan.network.dns import with_search_options
            files["resolv"].write_bytes(with_search_options(manager.resolv_conf(c["network"]),
                                                            c.get("dns_search"), c.get("dns_options")))
        if explain.on():
            from sampan.engine import explain_steps
            explain_steps.network(netns, att, maps, manager.inspect(att.network).bridge)
        config: ContainerConfig = {**c, "net": {
            "ip": att.ip, "prefix": att.prefix, "gateway": att.gateway, "mac": att.mac,
            "ports": [list(p) for p in att.ports] or [list(p) for p in maps], "netns": str(netns)}}
        ctx.containers.update(rec.id, config=config)
    except BaseException:
        try:
            if netns is not None:  # made, then a write failed (a full disk): undo it here
                manager.release(rec.id, netns, background=False)
        finally:
            for s in socks:
                s.close()
        raise
    return Sandbox(netns=str(netns), sockets=socks, config=config)


def _container_netns(ctx: Context, cid: str) -> str:
    from sampan.engine.status import status_of
    other = ctx.containers.get(cid)
    if other is None:
        raise InvalidState("the container whose network this one shares was removed")
    if not status_of(other).running:
        raise InvalidState(f"cannot join the network of container {other.name}: it is not running")
    path = nm(ctx).netns_of(other.id)
    return str(path) if path else f"/proc/{other.pid}/ns/net"


def disconnect(ctx: Context, rec: ContainerRecord) -> None:
    """Release the sandbox: unpublish its ports and keep it as a spare when it may be
    reused, else a CNI DEL in the background (ports stay claimed until it is done, so a
    new container cannot race for them)."""
    if mode_of(rec.config.get("network", "none")) != "bridge":
        return
    from sampan.network.netdb import TEARING
    manager = nm(ctx)
    rows = manager.store.attachment_rows("cid=?", (rec.id,))
    if not rows or all(r["state"] == TEARING for r in rows):
        # Already released, or recycled by another cleanup of this container (the monitor's
        # and `rm -f`'s can overlap): its old netns file may now be a spare's; or being torn
        # down in the background, which whoever needs its ports waits for. Orphans of a
        # crash are reconcile()'s job.
        return
    try:
        if not _may_have_changed_its_network(rec.config) and manager.recycle(rec.id):
            explain.explain("removed", "network: the sandbox (namespace, veth pair, address) is kept as a spare "
                            "for the next container: nothing in it could have changed")
            return  # its sandbox, untouched (no NET_ADMIN), now waits for the next container
    except Exception:
        pass  # the database cannot record it as a spare (a full disk): release it instead
    netns = manager.netns_of(rec.id)
    batch = ctx.__dict__.get("_release_batch")
    if batch is not None:
        manager.release_later(rec.id, netns or manager.netns_path(rec.id))
        batch.append(rec.id)
        return
    manager.release(rec.id, netns or manager.netns_path(rec.id), background=True, replenish=True)
    explain.explain("removed", f"network: its veth pair, address, NAT rules and namespace {netns} are "
                    f"deleted by a background CNI DEL (its host ports stay claimed until then)")


@contextmanager
def batched_releases(ctx: Context) -> Iterator[None]:
    """Sandboxes that disconnect() releases inside are marked for teardown at once (their
    ports stay claimed) and torn down by one background process started at the end,
    instead of a process each (`rm -f` of many)."""
    batch: list[str] = []
    ctx.__dict__["_release_batch"] = batch
    try:
        yield
    finally:
        del ctx.__dict__["_release_batch"]
        if batch:
            nm(ctx).sweep_releases(len(batch), replenish=True)


def _may_have_changed_its_network(config: ContainerConfig) -> bool:
    """NET_ADMIN (added in any spelling, with ALL, or by --privileged) lets a container
    change addresses, routes and net sysctls: its sandbox is not handed to another."""
    if config.get("privileged"):
        return True
    added = {n.strip().upper().removeprefix("CAP_") for n in config.get("cap_add") or []}
    return bool(added & {"NET_ADMIN", "ALL"})


def forget(ctx: Context, rec: ContainerRecord) -> None:
    """Release what a failed release left recorded (a full disk refused to delete the
    records; the host's side went first, see network/teardown.py), before the
    container's own record goes and nothing names them any more."""
    if mode_of(rec.config.get("network", "none")) != "bridge":
        return
    from sampan.network.netdb import ACTIVE
    manager = nm(ctx)
    if manager.store.attachment_rows("cid=? AND state=?", (rec.id, ACTIVE)):  # not being torn down
        manager.release(rec.id, manager.netns_of(rec.id) or manager.netns_path(rec.id), background=False)

