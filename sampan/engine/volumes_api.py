"""`engine.volumes`: volume create, ls, inspect, rm, prune."""

from __future__ import annotations

import builtins

from sampan.engine import filters as flt
from sampan.engine.context import Context
from sampan.engine.options import ListOptions, PruneOptions, RemoveOptions, VolumeCreateOptions
from sampan.engine.reports import PruneReport, RemoveReport, VolumeReport
from sampan.errors import InvalidArgument, SampanError

VOLUME_FILTERS = ("dangling", "name", "label", "driver")


class VolumesAPI:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _in_use(self) -> dict[str, list[str]]:
        """volume name -> names of the containers that mount it."""
        users: dict[str, list[str]] = {}
        for r in self.ctx.containers.all():
            for m in r.config["mounts"]:
                if m["kind"] == "volume":
                    users.setdefault(m["source"], []).append(r.name)
        return users

    def users(self, name: str) -> list[str]:
        return self._in_use().get(name, [])

    def usage(self) -> dict[str, tuple[int, int]]:
        """name -> (bytes used, how many containers mount it), for `system df -v`."""
        users = self._in_use()
        return {v.name: (self.ctx.volumes.size(v.name), len(users.get(v.name, [])))
                for v in self.ctx.volumes.list()}

    def create(self, opts: VolumeCreateOptions) -> VolumeReport:
        """A new volume (a random name when ``name`` is None); an existing one of that name
        is returned as it is, as Docker does."""
        if opts.driver != "local":
            raise InvalidArgument(f"volume driver {opts.driver!r} is not supported: only local")
        info, made = self.ctx.volumes.create(opts.name, dict(opts.labels or {}))
        if made:
            from sampan.engine.events import emit
            emit(self.ctx, "volume", "create", info.name, {"driver": "local"})
        return _report(info)

    def get(self, name: str) -> VolumeReport:
        return _report(self.ctx.volumes.get(name))

    def inspect(self, name: str) -> dict:
        """Docker's Volume."""
        return self.get(name).to_docker()

    def list(self, opts: ListOptions | None = None) -> list[VolumeReport]:
        """By name. Filters: dangling=true|false (used by no container), name= (substring),
        label=KEY[=VALUE], driver=local."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, VOLUME_FILTERS, "volume ls")
        dangling = flt.boolean(want, "dangling")
        used = set(self._in_use()) if dangling is not None else set()
        out = []
        for info in self.ctx.volumes.list():
            if dangling is not None and (info.name not in used) != dangling:
                continue
            if "name" in want and not flt.any_substring(info.name, want["name"]):
                continue
            if "label" in want and not flt.labels_match(info.labels, want["label"]):
                continue
            if "driver" in want and "local" not in want["driver"]:
                continue
            out.append(_report(info))
        return out

    def remove(self, names: builtins.list[str], opts: RemoveOptions | None = None) -> builtins.list[RemoveReport]:
        """`volume rm A B C`: one report per name; a volume in use is refused (Conflict)."""
        out = []
        users = self._in_use()
        for name in names:
            try:
                self.ctx.volumes.remove(name, users.get(name, []))
                out.append(RemoveReport(ref=name, id=name, name=name))
                from sampan.engine.events import emit
                emit(self.ctx, "volume", "destroy", name, {"driver": "local"})
            except SampanError as e:
                out.append(RemoveReport(ref=name, error=e))
        return out

    def prune(self, opts: PruneOptions | None = None) -> PruneReport:
        """Unused anonymous volumes, or every unused volume with ``all`` (or the filter
        all=true), that label= and label!= select; the bytes their data used."""
        from sampan.engine.prune_filters import VOLUME, PruneFilter
        opts = opts or PruneOptions()
        want = PruneFilter(opts.filters, VOLUME, "volume prune")
        every = want.boolean("all")
        if opts.all and every is not None:
            raise InvalidArgument("conflicting options: cannot specify both --all and --filter all=1")
        every = opts.all or bool(every)
        in_use = set(self._in_use())
        report = PruneReport()
        for v in self.ctx.volumes.list():
            if v.name in in_use or not (v.anonymous or every) or not want.match(v.labels):
                continue
            from sampan.engine.sizes import rw_size
            size = rw_size(v.mountpoint)  # apparent bytes, as moby's directory.Size
            self.ctx.volumes.remove(v.name, [])
            report.deleted.append(v.name)
            report.space_reclaimed += size
        from sampan.engine.events import emit
        for name in report.deleted:
            emit(self.ctx, "volume", "destroy", name, {"driver": "local"})
        return report


def _report(info) -> VolumeReport:
    return VolumeReport(name=info.name, driver="local", mountpoint=info.mountpoint, created=info.created,
                        labels=dict(info.labels), anonymous=info.anonymous)
