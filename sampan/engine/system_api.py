"""`engine.system`: info, df, prune, check, and releasing crashed processes' leftovers."""

from __future__ import annotations

from sampan.engine.context import Context
from sampan.engine.options import PruneOptions
from sampan.engine.reports import CheckReport, DiskUsageReport, DoctorReport, SystemPruneReport, UsageSummary
from sampan.engine.status import status_of


class SystemAPI:
    def __init__(self, engine) -> None:
        self.engine = engine            # prune goes through the other subjects' facades
        self.ctx: Context = engine.ctx

    def info(self) -> dict:
        """Docker's SystemInfo, the fields sampan knows."""
        from sampan.engine.system import info
        return info(self.ctx)

    def disk_usage(self) -> DiskUsageReport:
        from sampan.engine.system import disk_usage
        du = disk_usage(self.ctx)
        return DiskUsageReport(**{k.lower(): UsageSummary(**v) for k, v in du.items()})

    def container_sizes(self) -> dict[str, int]:
        """Container id -> bytes in its writable layer (`system df -v`'s SIZE)."""
        from sampan.engine.sizes import rw_size
        return {r.id: rw_size(self.ctx.container_files(r.id)["upper"]) for r in self.ctx.containers.all()}

    def check(self) -> CheckReport:
        """`system check`: read-only findings about this root (changes nothing)."""
        from sampan.engine.check import check_root
        from sampan.runtime import cgroups
        hierarchy = cgroups.hierarchy()
        version = "v2" if hierarchy == "unified" else "v1"
        return CheckReport(root=str(self.ctx.paths.root), findings=check_root(self.ctx.paths),
                           cgroups=f"{version} ({hierarchy}); controllers: {' '.join(cgroups.controllers()) or 'none'}")

    def doctor(self) -> DoctorReport:
        """`doctor`: what this host gives sampan (engine/doctor.py); read-only, needs no root."""
        from sampan.engine.doctor import can_run, diagnose
        findings = diagnose()
        return DoctorReport(findings=findings, can_run=can_run(findings))

    def restore(self) -> list:
        """Once per boot: start the containers whose restart policy says so (restart.py).
        Returns their records."""
        from sampan.engine.restart import restore
        return restore(self.ctx)

    def reconcile(self) -> list[str]:
        """Release what crashed processes left: network sandboxes (veths, rules, netns) of
        containers that no longer run. Returns their ids. `system prune` calls it; a
        container's own next start or `rm -f` also finishes its leftovers."""
        from sampan.engine.build_scratch import live_run_cids, sweep_dead
        from sampan.engine.monitor_lost import all_noticed
        from sampan.engine.networking import nm

        all_noticed(self.ctx)  # containers whose monitor died: stopped and released first
        sweep_dead(self.ctx)  # what killed builds left

        def alive(cid: str) -> bool:
            rec = self.ctx.containers.get(cid)
            if rec is None:  # a RUN step of a build in progress? (it records itself first)
                return cid in live_run_cids(self.ctx)
            st = status_of(rec)
            return st.running or st.monitor_alive
        return nm(self.ctx).reconcile(alive)

    def prune(self, opts: PruneOptions | None = None) -> SystemPruneReport:
        """Stopped containers, crashed leftovers, networks no container uses, anonymous volumes
        (with ``volumes``), dangling images (every unused image with ``all``) and the build
        cache, in Docker's order, each narrowed by ``filters`` (until=, label=, label!=)."""
        opts = opts or PruneOptions()
        if opts.volumes and _has_until(opts.filters):
            from sampan.errors import InvalidArgument
            raise InvalidArgument('ERROR: The "until" filter is not supported with "--volumes"')
        e = self.engine
        some = PruneOptions(filters=opts.filters)
        containers = e.containers.prune(some)
        leftovers = self.reconcile()
        from sampan.engine.networking import release_spares
        release_spares(self.ctx)  # the pool of ready sandboxes: host state nobody asked to keep
        networks = e.networks.prune(some)
        volumes = e.volumes.prune(some) if opts.volumes else None
        images = e.images.prune(PruneOptions(all=opts.all, filters=opts.filters))
        build_cache = e.build_prune(some)
        return SystemPruneReport(containers=containers, network_leftovers=leftovers, volumes=volumes,
                                 images=images, networks=networks, build_cache=build_cache)


def _has_until(filters) -> bool:
    if isinstance(filters, dict):
        return "until" in filters
    return any(isinstance(f, str) and f.partition("=")[0] == "until" for f in filters or ())
