"""`engine.containers`: list (ps), inspect, ports, rm of many, prune.

The verbs of one container's life (create, run, start, stop, kill, exec, logs, ...) are
Engine's own methods (engine.py): they are on `run`'s path and stay lean there.
"""

from __future__ import annotations

import builtins

from sampan.engine import filters as flt
from sampan.engine import lifecycle
from sampan.engine.context import Context
from sampan.engine.monitor_lost import all_noticed, found, noticed
from sampan.engine.options import ListOptions, PruneOptions, RemoveOptions
from sampan.engine.records import ContainerRecord
from sampan.engine.reports import ContainerSummary, PortReport, PruneReport, RemoveReport
from sampan.engine.status import Status, status_of
from sampan.errors import InvalidArgument, SampanError
from sampan.oci.times import parse_time

CONTAINER_FILTERS = ("status", "name", "id", "label", "exited", "ancestor", "network", "volume",
                     "before", "since", "health", "publish", "expose")
HEALTH = ("none", "starting", "healthy", "unhealthy")
STATES = ("created", "running", "exited", "paused", "restarting", "removing", "dead")


class ContainersAPI:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list(self, opts: ListOptions | None = None) -> list[ContainerSummary]:
        """Newest first; running ones only unless ``all``, a ``status=`` filter or a ``limit``.
        Filters: status=, name= (substring), id= (prefix), label=KEY[=VALUE], exited=CODE,
        ancestor=IMAGE (its ref or id), network=NAME|ID, volume=NAME|DESTINATION,
        before=CONTAINER, since=CONTAINER (created before or after that one),
        health=none|starting|healthy|unhealthy, publish= and expose=PORT[-PORT][/PROTO]."""
        opts = opts or ListOptions()
        want = flt.parse(opts.filters, CONTAINER_FILTERS, "ps")
        tests = self._tests(want)
        show_all = opts.all or opts.limit > 0 or "status" in want
        out = []
        for each in self.ctx.containers.all():
            st = status_of(each)
            rec: ContainerRecord | None = each
            if st.monitor_lost or st.removed:  # stopped and recorded first (monitor_lost.noticed)
                rec = noticed(self.ctx, each)
                if rec is None:
                    continue
                st = status_of(rec)
            assert rec is not None
            if not show_all and not (st.running or st.restarting):
                continue
            if all(test(rec, st) for test in tests):
                out.append(summary(self.ctx, rec, st))
                if 0 < opts.limit <= len(out):
                    break
        if opts.size:
            self._sizes(out)
        return out

    def _sizes(self, summaries: builtins.list[ContainerSummary]) -> None:
        """`ps -s`: each writable layer's bytes, and with its image's (Docker's SizeRootFs)."""
        from sampan.engine.sizes import rw_size
        from sampan.errors import NotFound
        images: dict[str, int] = {}
        for s in summaries:
            if s.image_id not in images:
                try:
                    images[s.image_id] = self.ctx.images.resolve(s.image_id).size or 0
                except NotFound:
                    images[s.image_id] = 0
            s.size_rw = rw_size(self.ctx.container_files(s.id)["upper"])
            s.size_root_fs = s.size_rw + images[s.image_id]

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
        if "health" in want:
            for h in want["health"]:
                if h not in HEALTH:
                    raise InvalidArgument(f"invalid filter 'health={h[:100]}': health is one of {', '.join(HEALTH)}")
            tests.append(lambda rec, st: self._health(rec) in want["health"])
        for code in want.get("exited", ()):
            if not code.lstrip("-").isdigit():
                raise InvalidArgument(f"invalid filter 'exited={code[:100]}': an exit code is a whole number")
        if "exited" in want:
            tests.append(lambda rec, st: st.exited and str(st.exit_code) in want["exited"])
        if "ancestor" in want:  # the images named and those built on them (image_lineage.py)
            from sampan.engine.image_lineage import descendants
            ancestors = descendants(self.ctx.images.list_images(all=True), self._image_ids(want["ancestor"]))
            tests.append(lambda rec, st: rec.image_id in ancestors)
        if "network" in want:  # the network the container was created on (not later connects)
            networks = self._network_keys(want["network"])
            tests.append(lambda rec, st: rec.config.get("network") in networks)
        if "volume" in want:
            vols = set(want["volume"])
            tests.append(lambda rec, st: any(m["kind"] == "volume" and {m["source"], m["destination"]} & vols
                                             for m in rec.config["mounts"]))
        if "publish" in want or "expose" in want:  # either matching will do, as in Docker
            published = flt.port_set(want.get("publish", []), "publish")
            exposed = flt.port_set(want.get("expose", []), "expose")
            tests.append(lambda rec, st: _ports_match(rec, st, published, exposed))
        if "before" in want:
            before = min(parse_time(self.ctx.containers.find(r).created) for r in want["before"])
            tests.append(lambda rec, st: parse_time(rec.created) < before)
        if "since" in want:
            since = max(parse_time(self.ctx.containers.find(r).created) for r in want["since"])
            tests.append(lambda rec, st: parse_time(rec.created) > since)
        return tests

    def _health(self, rec: ContainerRecord) -> str:
        """Docker's State.Health.Status, "none" for a container without a health check."""
        from sampan.engine import views
        health = views.inspect_container(self.ctx, rec)["State"].get("Health") or {}
        return health.get("Status") or "none"

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
        return found(self.ctx, ref)

    def remove(self, refs: builtins.list[str], opts: RemoveOptions | None = None) -> builtins.list[RemoveReport]:
        """`rm A B C`: one report per reference, in order; a failure does not stop the rest."""
        opts = opts or RemoveOptions()
        if opts.force and len(refs) > 1:
            out = self._remove_many(refs, opts)
            if any(r.error is None for r in out):
                self._after_last()
            return out
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
        if any(r.error is None for r in out):
            self._after_last()
        return out

    def _remove_many(self, refs: builtins.list[str], opts: RemoveOptions) -> builtins.list[RemoveReport]:
        """`rm -f A B C ...`: every container killed at once first (engine/bulk_remove.py),
        their sandboxes torn down and their directories deleted by one background process
        each (after the last removal)."""
        from sampan.engine import networking, runstate
        from sampan.engine.bulk_remove import kill_all
        found: dict[str, ContainerRecord | SampanError] = {}
        for ref in refs:
            try:
                found[ref] = self.ctx.containers.find(ref)
            except SampanError as e:
                found[ref] = e
        kill_all(self.ctx, list({r.id: r for r in found.values() if isinstance(r, ContainerRecord)}.values()))
        out = []
        with networking.batched_releases(self.ctx), runstate.batched_file_removal(self.ctx):
            for ref in refs:
                rec = found[ref]
                try:
                    if isinstance(rec, SampanError):
                        raise rec
                    lifecycle.remove(self.ctx, rec, force=True, volumes=opts.volumes)
                    out.append(RemoveReport(ref=ref, id=rec.id, name=rec.name))
                except SampanError as e:
                    out.append(RemoveReport(ref=ref, error=e))
        return out

    def _after_last(self) -> None:
        """The root's last container removed (by rm or prune, not a --rm exit: the next
        `run` would want them): the network sandboxes pooled for the next ones go too."""
        if not self.ctx.containers.all():
            from sampan.engine.networking import release_spares
            release_spares(self.ctx)

    def prune(self, opts: PruneOptions | None = None) -> PruneReport:
        """Every container that is not running (and whose monitor is gone) and that the
        filters (until=, label=, label!=) select; the bytes of their writable layers."""
        from sampan.engine.prune_filters import CONTAINER, PruneFilter
        from sampan.engine.sizes import rw_size
        want = PruneFilter((opts or PruneOptions()).filters, CONTAINER, "container prune")
        report = PruneReport()
        for rec in all_noticed(self.ctx):
            st = status_of(rec)
            if st.running or st.monitor_alive or not want.match(rec.config.get("labels"), parse_time(rec.created)):
                continue
            size = rw_size(self.ctx.container_files(rec.id)["upper"])
            lifecycle.remove(self.ctx, rec)
            report.deleted.append(rec.id)
            report.space_reclaimed += size
        if report.deleted:
            self._after_last()
        return report


def _ports_match(rec: ContainerRecord, st: Status, published: set[str], exposed: set[str]) -> bool:
    """ps -f publish=HOSTPORT[/PROTO] (a running container's host side) or expose=PORT[/PROTO]
    (the container side of its published ports and of the image's exposed ones)."""
    if st.running and any(f"{p.public_port}/{p.type}" in published for p in _ports(rec)):
        return True
    container_side = {f"{cport}/{proto}" for cport, _, _, proto in rec.config.get("ports") or []}
    container_side |= set(((rec.config.get("image_config") or {}).get("ExposedPorts") or {}))
    container_side |= set(rec.config.get("exposed") or ())
    return bool(container_side & exposed)


def _ports(rec: ContainerRecord) -> list[PortReport]:
    return [PortReport(private_port=int(cport), public_port=int(hport), ip=hip or "0.0.0.0", type=proto)
            for cport, hport, hip, proto in (rec.config["net"]["ports"] if "net" in rec.config else [])]


def _listed_ports(rec: ContainerRecord) -> list[PortReport]:
    """ps's ports: the published ones, then those exposed (image, --expose) but not published,
    without a host side, as Docker lists them ("80/tcp")."""
    out = _ports(rec)
    if "net" not in rec.config:
        return out
    from sampan.engine.views import exposed_ports
    published = {f"{p.private_port}/{p.type}" for p in out}
    for key in exposed_ports(rec.config, rec.config.get("image_config") or {}) or {}:
        port, _, proto = key.partition("/")
        if key not in published and port.isdigit():
            out.append(PortReport(private_port=int(port), public_port=0, ip="", type=proto or "tcp"))
    return out


def summary(ctx: Context, rec: ContainerRecord, st: Status | None = None) -> ContainerSummary:
    from sampan.engine.views import command_text, mount_points, network_settings, status_text
    st = st or status_of(rec)
    running = st.running
    return ContainerSummary(
        id=rec.id, name=rec.name, image=rec.image_ref, image_id=rec.image_id,
        command=command_text(rec), created=rec.created, state=st.docker_state, status=status_text(rec, st, ctx),
        exit_code=st.exit_code, ports=_listed_ports(rec) if running else [],
        labels=dict(rec.config.get("labels") or {}), network=rec.config.get("network", ""),
        networks=network_settings(rec.config, running)["Networks"], mounts=mount_points(ctx, rec.config))
