"""`builder prune` (and system prune's last step): the build cache's cached steps and its
RUN --mount=type=cache directories, narrowed by Docker's builder filters."""

from __future__ import annotations

from sampan.engine.context import Context
from sampan.engine.options import PruneOptions
from sampan.engine.reports import PruneReport


def build_prune(ctx: Context, opts: PruneOptions | None = None) -> PruneReport:
    """until=: only what was last used before then. label=/label!=: cache entries carry no
    labels, so label= selects none and label!= all (as moby's matching of an empty set)."""
    from sampan.build.cache import BuildCache
    from sampan.engine.build_mounts import prune_cache_dirs
    from sampan.engine.prune_filters import BUILDER, PruneFilter
    want = PruneFilter((opts or PruneOptions()).filters, BUILDER, "builder prune")
    report = PruneReport()
    if not want.match({}):
        return report
    report.deleted = [k.removeprefix("sha256:") for k in BuildCache(ctx.db).prune_keys(want.until)]
    for name, size in prune_cache_dirs(ctx, want.until):
        report.deleted.append(name)
        report.space_reclaimed += size
    return report
