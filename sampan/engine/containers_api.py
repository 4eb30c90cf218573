"""`engine.containers`: list (ps), inspect, ports, rm of many, prune.

The verbs of one container's life (create, run, start, stop, kill, exec, logs, ...) are
Engine's own methods (engine.py): they are on `run`'s path and stay lean there.
"""

from __future__ import annotations

import builtins

from sampan.engine import filters as flt
from sampan.engine import lifecycle
from sampan.engine.context import Context
from sampan.engine.monitor_lost import all_noticed, noticed
from sampan.engine.options import ListOptions, PruneOptions, RemoveOptions
from sampan.engine.records import ContainerRecord
from sampan.engine.reports import ContainerSummary, PortReport, PruneReport, RemoveReport
from sampan.engine.status import Status, status_of
from sampan.errors import ContainerNotFound, InvalidArgument, SampanError
from sampan.oci.times import parse_time

CONTAINER_FILTERS = ("status", "name", "id", "label", "exited", "ancestor", "network", "volume",
                     "before", "since")
STATES = ("created", "running", "exited", "paused", "restarting", "removing", "dead")


class ContainersAPI:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list(self, opts: ListOptions | None = None) -> list[ContainerSummary]:
        """Newest first; running ones only unless ``all``, a ``status=`` filter or a ``limit``.
        Filters: status=, name= (substring), id= (prefix), label=KEY[=VALUE], exited=CODE,
        ancestor=IMAGE (its ref or id), network=NAME|ID, volume=NAME|DESTINATION,
        before=CONTAINER, since=CONTAINER (created before or after that one)."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, CONTAINER_FILTERS, "ps")
        tests = self._tests(want)
        show_all = opts.all or opts.limit > 0 or "status" in want
        out = []
        for rec in all_noticed(self.ctx):
            st = status_of(rec)
            if not show_all and not (st.running or st.restarting):
                continue
            if all(test(rec, st) for test in tests):
                out.append(summary(self.ctx, rec, st))
                if 0 < opts.limit <= len(out):
                    break
        return out

    def _tests(self, want: dict[str, builtins.list[str]]) -> builtins.list:
        """One predicate (record, status) -> bool per filter key given; all must hold."""
        tests = []
        for s in want.get("status", ()):
            if s not in STATES:
                raise InvalidArgument(f"invalid filter 'status={s}': status is one of {', '.join(STATES)}")
        if "status" in want:
            tests.append(lambda rec, st: st.docker_state in want["status"])
        if "name" in want:
            tests.append(lambda rec, st: flt.any_substring(rec.name, want["name"]))
        if "id" in want:
            tests.append(lambda rec, st: flt.any_prefix(rec.id, want["id"]))
        if "label" in want:
            tests.append(lambda rec, st: flt.labels_match(rec.config.get("labels"), want["label"]))
        if "exited" in want:
            tests.append(lambda rec, st: st.exited and str(st.exit_code) in want["exited"])
        if "ancestor" in want:
            ancestors = self._image_ids(want["ancestor"])
            tests.append(lambda rec, st: rec.image_id in ancestors)
        if "network" in want:  # the network the container was created on (not later connects)
            networks = self._network_keys(want["network"])
            tests.append(lambda rec, st: rec.config.get("network") in networks)
        if "volume" in want:
            vols = set(want["volume"])
            tests.append(lambda rec, st: any(m["kind"] == "volume" and {m["source"], m["destination"]} & vols
                                             for m in rec.config["mounts"]))
        if "before" in want:
            before = min(parse_time(self.ctx.containers.find(r).created) for r in want["before"])
            tests.append(lambda rec, st: parse_time(rec.created) < before)
        if "since" in want:
            since = max(parse_time(self.ctx.containers.find(r).created) for r in want["since"])
            tests.append(lambda rec, st: parse_time(rec.created) > since)
        return tests

    def _image_ids(self, refs: builtins.list[str]) -> set[str]:
        """The ids of the images named (an unknown one matches nothing, as Docker)."""
        from sampan.errors import NotFound
        ids = set()
        for ref in refs:
            try:
                ids.add(self.ctx.images.resolve(ref).id)
            except NotFound:
                pass
        return ids

    def _network_keys(self, names: builtins.list[str]) -> set[str]:
        """What a container's config may say for the networks named: name, id, and
        "bridge" for the default network."""
        from sampan.engine.networking import nm
        keys = set(names)
        for name in names:
            try:
                info = nm(self.ctx).inspect(name)
            except SampanError:
                continue
            keys |= {info.name, info.id}
        return keys

    def inspect(self, ref: str) -> dict:
        """Docker's ContainerInspectResponse."""
        from sampan.engine import views
        return views.inspect_container(self.ctx, self._find(ref))

    def ports(self, ref: str) -> builtins.list[PortReport]:
        """Published ports of a running container (none when it is not running)."""
        rec = self._find(ref)
        return _ports(rec) if status_of(rec).running else []

    def _find(self, ref: str) -> ContainerRecord:
        """The container as it is now: one whose monitor died is stopped and recorded first."""
        rec = noticed(self.ctx, self.ctx.containers.find(ref))
        if rec is None:
            raise ContainerNotFound(f"no such container: {ref} (its monitor died and, run with "
                                    "--rm, it was removed)")
        return rec

    def remove(self, refs: builtins.list[str], opts: RemoveOptions | None = None) -> builtins.list[RemoveReport]:
        """`rm A B C`: one report per reference, in order; a failure does not stop the rest."""
        opts = opts or RemoveOptions()
        out = []
        for ref in refs:
            try:
                found = self.ctx.containers.find(ref)
                rec = noticed(self.ctx, found)
                if rec is not None:  # (None: its monitor died and --rm removed it: as asked)
                    lifecycle.remove(self.ctx, rec, force=opts.force, volumes=opts.volumes)
                out.append(RemoveReport(ref=ref, id=found.id, name=found.name))
            except SampanError as e:
                out.append(RemoveReport(ref=ref, error=e))
        return out

    def prune(self, opts: PruneOptions | None = None) -> PruneReport:
        """Every container that is not running (and whose monitor is gone)."""
        report = PruneReport()
        for rec in all_noticed(self.ctx):
            st = status_of(rec)
            if not st.running and not st.monitor_alive:
                lifecycle.remove(self.ctx, rec)
                report.deleted.append(rec.id)
        return report


def _ports(rec: ContainerRecord) -> list[PortReport]:
    return [PortReport(private_port=int(cport), public_port=int(hport), ip=hip or "0.0.0.0", type=proto)
            for cport, hport, hip, proto in (rec.config["net"]["ports"] if "net" in rec.config else [])]


def summary(ctx: Context, rec: ContainerRecord, st: Status | None = None) -> ContainerSummary:
    from sampan.engine.views import command_text, mount_points, network_settings, status_text
    st = st or status_of(rec)
    running = st.running
    return ContainerSummary(
        id=rec.id, name=rec.name, image=rec.image_ref, image_id=rec.image_id,
        command=command_text(rec), created=rec.created, state=st.docker_state, status=status_text(rec, st, ctx),
        exit_code=st.exit_code, ports=_ports(rec) if running else [],
        labels=dict(rec.config.get("labels") or {}), network=rec.config.get("network", ""),
        networks=network_settings(rec.config, running)["Networks"], mounts=mount_points(ctx, rec.config))
