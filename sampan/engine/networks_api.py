"""`engine.networks`: network create, ls, inspect, rm, prune, connect, disconnect."""

from __future__ import annotations

import time

from sampan.engine import filters as flt
from sampan.engine.context import Context
from sampan.engine.networking import nm
from sampan.engine.options import ListOptions, NetworkCreateOptions, PruneOptions
from sampan.engine.reports import NetworkEndpoint, NetworkReport, PruneReport, RemoveReport
from sampan.engine.status import RUNNING, status_of
from sampan.errors import Conflict, InvalidArgument, InvalidState, SampanError

NETWORK_FILTERS = ("name", "id", "label", "driver")


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
        """Filters: name= (substring), id= (prefix), label=KEY[=VALUE], driver=bridge."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, NETWORK_FILTERS, "network ls")
        out = []
        for info in self._manager.list():
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

    def users(self, name: str) -> list[str]:
        """Names of the containers configured to use the network (running or not)."""
        info = self._manager.inspect(name)
        names = {info.name, info.id}
        return [r.name for r in self.ctx.containers.all() if r.config.get("network") in names
                or (info.name == "bridge" and r.config.get("network") == "bridge")]

    def remove(self, names: list[str]) -> list[RemoveReport]:
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
        """Networks no container is configured to use (never the default bridge)."""
        used = {r.config.get("network") for r in self.ctx.containers.all()}
        report = PruneReport()
        for info in self._manager.list():
            if info.name == "bridge" or info.name in used:
                continue
            try:
                self._manager.remove(info.name)
                report.deleted.append(info.name)
                from sampan.engine.events import emit
                emit(self.ctx, "network", "destroy", info.id, {"name": info.name, "type": "bridge"})
            except SampanError:
                pass
        return report

    def connect(self, network: str, ref: str, aliases: list[str] | None = None) -> None:
        rec = self.ctx.containers.find(ref)
        if status_of(rec).state != RUNNING:
            raise InvalidState(f"container {rec.name} is not running: networks are connected to running containers")
        manager = self._manager
        netns = manager.netns_of(rec.id)
        if netns is None:
            raise InvalidState(f"container {rec.name} has no network namespace of its own "
                               f"(--network {rec.config.get('network')})")
        files = self.ctx.container_files(rec.id)
        names = [rec.name] + [a for a in aliases or [] if a != rec.name]  # peers find it by name too
        manager.attach(rec.id, netns, network, (), names, rec.config["hostname"], hosts_path=files["hosts"])
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
        netns = manager.netns_of(rec.id)
        if netns is None or not any(a.network == info.name for a in manager.attachments(rec.id)):
            raise InvalidState(f"container {rec.name} is not connected to network {network}")
        manager.detach(rec.id, netns, info.name)
        self._connection_event("disconnect", info.name, rec.id)


def _rfc3339(t: float) -> str:
    if not t:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def _report(info) -> NetworkReport:
    return NetworkReport(id=info.id, name=info.name, driver="bridge", subnet=info.subnet,
                         gateway=info.gateway, internal=bool(info.internal), labels=dict(info.labels),
                         created=_rfc3339(info.created), bridge=info.bridge)
