"""`engine.networks`: network create, ls, inspect, rm, prune, connect, disconnect."""

from __future__ import annotations

import builtins
import time

from sampan.engine import filters as flt
from sampan.engine.context import Context
from sampan.engine.networking import nm
from sampan.engine.options import ListOptions, NetworkCreateOptions, PruneOptions
from sampan.engine.reports import NetworkEndpoint, NetworkReport, PruneReport, RemoveReport
from sampan.engine.status import status_of
from sampan.errors import Conflict, InvalidArgument, InvalidState, SampanError
from sampan.state import explain

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig

NETWORK_FILTERS = ("name", "id", "label", "driver", "dangling", "type", "scope")


class NetworksAPI:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def _manager(self):
        return nm(self.ctx)

    def create(self, opts: NetworkCreateOptions) -> NetworkReport:
        if opts.driver != "bridge":
            raise InvalidArgument(f"network driver {opts.driver!r} is not supported: only bridge")
        info = self._manager.create(opts.name, opts.subnet, opts.gateway, opts.internal,
                                    dict(opts.labels or {}))
        from sampan.engine.events import emit
        emit(self.ctx, "network", "create", info.id, {"name": info.name, "type": "bridge"})
        return _report(info)

    def list(self, opts: ListOptions | None = None) -> list[NetworkReport]:
        """Filters: name= (substring), id= (prefix), label=KEY[=VALUE], driver=bridge,
        dangling=true|false (no container configured to use it), type=custom|builtin (the
        default bridge is builtin), scope=local."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, NETWORK_FILTERS, "network ls")
        dangling = flt.boolean(want, "dangling")
        used = ({n for r in self.ctx.containers.all() for n in _networks_of(r.config)}
                if dangling is not None else set())
        for kind in want.get("type", []):
            if kind not in ("custom", "builtin"):
                raise InvalidArgument(f"invalid filter 'type={kind}': custom or builtin")
        out = []
        for info in self._manager.list():
            builtin = info.name == "bridge"
            if dangling is not None and (builtin or (info.name in used or info.id in used)) == dangling:
                continue
            if "type" in want and ("builtin" if builtin else "custom") not in want["type"]:
                continue
            if "scope" in want and "local" not in want["scope"]:
                continue
            if "name" in want and not flt.any_substring(info.name, want["name"]):
                continue
            if "id" in want and not flt.any_prefix(info.id, want["id"]):
                continue
            if "label" in want and not flt.labels_match(info.labels, want["label"]):
                continue
            if "driver" in want and "bridge" not in want["driver"]:
                continue
            out.append(_report(info))
        return out

    def get(self, name: str) -> NetworkReport:
        """The network with the containers on it."""
        manager = self._manager
        report = _report(manager.inspect(name))
        report.containers = [NetworkEndpoint(container_id=a.cid, name=self._container_name(a.cid),
                                             ipv4_address=a.cidr, mac_address=a.mac)
                             for a in manager.containers(report.name)]
        return report

    def inspect(self, name: str) -> dict:
        """Docker's Network."""
        return self.get(name).to_docker()

    def _container_name(self, cid: str) -> str:
        rec = self.ctx.containers.get(cid)
        return rec.name if rec else cid[:12]

    def users(self, name: str) -> builtins.list[str]:
        """Names of the containers configured to use the network (running or not)."""
        info = self._manager.inspect(name)
        names = {info.name, info.id}
        return [r.name for r in self.ctx.containers.all() if set(_networks_of(r.config)) & names]

    def remove(self, names: builtins.list[str]) -> builtins.list[RemoveReport]:
        """`network rm A B C`: one report per name; a network in use is refused (Conflict)."""
        out = []
        for name in names:
            try:
                out.append(self.remove_one(name))
            except SampanError as e:
                out.append(RemoveReport(ref=name, error=e))
        return out

    def remove_one(self, name: str) -> RemoveReport:
        users = self.users(name)
        if users:
            raise Conflict(f"network {name} is used by container {', '.join(users[:3])}: remove "
                           f"or disconnect them first")
        info = self._manager.inspect(name)
        self._manager.remove(name)
        from sampan.engine.events import emit
        emit(self.ctx, "network", "destroy", info.id, {"name": info.name, "type": "bridge"})
        return RemoveReport(ref=name, id=info.id, name=info.name)

    def prune(self, opts: PruneOptions | None = None) -> PruneReport:
        """Networks no container is configured to use (never the default bridge) that the
        filters (until=, label=, label!=) select."""
        from sampan.engine.prune_filters import NETWORK, PruneFilter
        want = PruneFilter((opts or PruneOptions()).filters, NETWORK, "network prune")
        used = {n for r in self.ctx.containers.all() for n in _networks_of(r.config)}
        report = PruneReport()
        for info in self._manager.list():
            if info.name == "bridge" or info.name in used or not want.match(info.labels, info.created or None):
                continue
            try:
                self._manager.remove(info.name)
                report.deleted.append(info.name)
                from sampan.engine.events import emit
                emit(self.ctx, "network", "destroy", info.id, {"name": info.name, "type": "bridge"})
            except SampanError:
                pass
        return report

    def connect(self, network: str, ref: str, aliases: builtins.list[str] | None = None,
                ip: str | None = None, links: builtins.list[str] | None = None) -> None:
        """ip: a fixed IPv4 address on that (user) network (`network connect --ip`); links:
        NAME[:ALIAS] of containers on it that this one reaches by alias (`--link`)."""
        rec = self.ctx.containers.find(ref)
        if ip:
            ip = _fixed_ip(self._manager, network, ip)
        pairs = _connect_links(self.ctx, rec, network, links) if links else []
        if not status_of(rec).running:
            self._connect_stopped(rec, network, aliases or [], ip)
            if pairs:
                self._set_links(rec.id, self._manager.inspect(network).name, pairs)
            self._connection_event("connect", network, rec.id)
            return
        manager = self._manager
        netns = manager.netns_of(rec.id)
        if netns is None:
            raise InvalidState(f"container {rec.name} has no network namespace of its own "
                               f"(--network {rec.config.get('network')})")
        files = self.ctx.container_files(rec.id)
        names = [rec.name] + [a for a in aliases or [] if a != rec.name]  # peers find it by name too
        with self.ctx.container_lock(rec.id):
            att = manager.attach(rec.id, netns, network, (), names, rec.config["hostname"],
                                 hosts_path=files["hosts"], ip=ip)
            self._remember(rec.id, att.network, aliases or [], ip)  # a restart joins it again
            if pairs:
                self._set_links(rec.id, att.network, pairs, running=True)
        if explain.on():
            from sampan.engine import explain_steps
            explain_steps.network(netns, att, (), manager.inspect(att.network).bridge)
        self._connection_event("connect", network, rec.id)

    def _connection_event(self, action: str, network: str, cid: str) -> None:
        from sampan.engine.events import emit
        try:
            info = self._manager.inspect(network)
        except SampanError:
            return
        emit(self.ctx, "network", action, info.id, {"name": info.name, "type": "bridge", "container": cid})

    def disconnect(self, network: str, ref: str, force: bool = False) -> None:
        rec = self.ctx.containers.find(ref)
        manager = self._manager
        info = manager.inspect(network)
        if not status_of(rec).running:
            self._disconnect_stopped(rec, info)
            self._connection_event("disconnect", info.name, rec.id)
            return
        netns = manager.netns_of(rec.id)
        if netns is None or not any(a.network == info.name for a in manager.attachments(rec.id)):
            raise InvalidState(f"container {rec.name} is not connected to network {network}")
        with self.ctx.container_lock(rec.id):
            manager.detach(rec.id, netns, info.name)
            self._forget(rec.id, info.name)
            if info.name in (rec.config.get("net_links") or {}):
                self._set_links(rec.id, info.name, [], running=True)
        self._connection_event("disconnect", info.name, rec.id)

    # A container that is not running has one network in its config (the one it starts on):
    # connect and disconnect change that config, as Docker changes a stopped container's
    # endpoint settings. docker-compose disconnects and connects every container it creates,
    # to give it its aliases.
    # The first network is config["network"] (its aliases config["aliases"]); the others
    # are config["more_networks"] {name: aliases}, attached after it at every start.
    def _connect_stopped(self, rec, network: str, aliases: builtins.list[str], ip: str | None = None) -> None:
        info = self._manager.inspect(network)
        with self.ctx.container_lock(rec.id):
            cur = self.ctx.containers.get(rec.id) or rec
            config = dict(cur.config)
            main = config.get("network")
            if main in ("none", info.name, info.id):
                config["network"] = info.name
                config["aliases"] = list(dict.fromkeys(list(config.get("aliases") or []) + aliases))
                if ip:
                    config["ip"] = ip
            elif main in ("host", "") or str(main).startswith("container:"):
                raise InvalidState(f"container {cur.name} uses --network {main}: it cannot join {info.name}")
            else:
                more = dict(config.get("more_networks") or {})
                more[info.name] = list(dict.fromkeys(list(more.get(info.name, [])) + aliases))
                config["more_networks"] = more
                if ip:
                    config["more_ips"] = {**(config.get("more_ips") or {}), info.name: ip}
            self.ctx.containers.update(cur.id, config=config)

    def _disconnect_stopped(self, rec, info) -> None:
        with self.ctx.container_lock(rec.id):
            cur = self.ctx.containers.get(rec.id) or rec
            config = dict(cur.config)
            more = dict(config.get("more_networks") or {})
            if config.get("network") in (info.name, info.id):
                ips = dict(config.get("more_ips") or {})
                if more:  # the next one becomes the first
                    first = next(iter(more))
                    config["network"], config["aliases"] = first, more.pop(first)
                    config["ip"] = ips.pop(first, None)
                else:
                    config["network"], config["aliases"], config["ip"] = "none", [], None
                config["more_ips"] = ips
            elif info.name in more:
                del more[info.name]
                config["more_ips"] = {k: v for k, v in (config.get("more_ips") or {}).items() if k != info.name}
            else:
                raise InvalidState(f"container {cur.name} is not connected to network {info.name}")
            config["more_networks"] = more
            config["net_links"] = {k: v for k, v in (config.get("net_links") or {}).items() if k != info.name}
            self.ctx.containers.update(cur.id, config=config)

    def _set_links(self, cid: str, network: str, pairs: builtins.list[builtins.list[str]],
                   running: bool = False) -> None:
        """Record a network's `--link`s (none: drop them); a running container's hosts lines
        and resolver aliases follow at once."""
        cur = self.ctx.containers.get(cid)
        if cur is None:
            return
        net_links = dict(cur.config.get("net_links") or {})
        if pairs:
            net_links[network] = [*net_links.get(network, []), *pairs]
        else:
            net_links.pop(network, None)
        config = dict(cur.config, net_links=net_links)
        self.ctx.containers.update(cid, config=config)
        if running:
            from sampan.engine import links
            cur.config = config  # type: ignore[assignment]  # the same keys, one more
            links.refresh_running(self.ctx, cur)

    def _remember(self, cid: str, network: str, aliases: builtins.list[str], ip: str | None = None) -> None:
        cur = self.ctx.containers.get(cid)
        if cur is None or cur.config.get("network") == network:
            return
        more = dict(cur.config.get("more_networks") or {})
        more[network] = list(aliases)
        ips = {k: v for k, v in (cur.config.get("more_ips") or {}).items() if k != network}
        if ip:
            ips[network] = ip
        self.ctx.containers.update(cid, config=dict(cur.config, more_networks=more, more_ips=ips))

    def _forget(self, cid: str, network: str) -> None:
        cur = self.ctx.containers.get(cid)
        if cur is not None and network in (cur.config.get("more_networks") or {}):
            more = dict(cur.config["more_networks"])
            del more[network]
            ips = {k: v for k, v in (cur.config.get("more_ips") or {}).items() if k != network}
            self.ctx.containers.update(cid, config=dict(cur.config, more_networks=more, more_ips=ips))


def _connect_links(ctx: Context, rec, network: str, specs: builtins.list[str]) -> builtins.list[builtins.list[str]]:
    """`network connect --link`: checked before anything changes; for a running container
    each linked one must already run on that network."""
    from sampan.engine import links
    info = nm(ctx).inspect(network)
    pairs = links.connect_links(ctx, rec, info.name, specs)
    if status_of(rec).running:
        for cid, alias in pairs:
            links.target(ctx, rec, info.name, cid, alias)  # raises Docker's error
    return pairs


def _fixed_ip(manager, network: str, ip: str) -> str:
    """`network connect --ip`: as `run --ip`, an address of a user network's subnet."""
    from sampan.engine.networking import check_ip
    info = manager.inspect(network)  # NetworkNotFound names it
    if info.name == "bridge":
        raise InvalidArgument("user specified IP address is supported on user defined networks only")
    return check_ip(ip, info)


def _networks_of(config: ContainerConfig) -> list[str]:
    return [config.get("network") or "", *(config.get("more_networks") or {})]


def _rfc3339(t: float) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def _report(info) -> NetworkReport:
    return NetworkReport(id=info.id, name=info.name, driver="bridge", subnet=info.subnet,
                         gateway=info.gateway, internal=bool(info.internal), labels=dict(info.labels),
                         created=_rfc3339(info.created), bridge=info.bridge)
