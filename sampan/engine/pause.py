"""`pause` and `unpause`: freeze and thaw every process of a running container.

The paused state is the kernel's (the cgroup's freezer), not a record: `ps` and
`inspect` read it (engine/status.py), so it stays true whatever process froze it and
whoever thawed it. A paused container still runs: `stop`, `kill` and `rm -f` send
their signal and thaw it, as Docker does, so the signal is taken at once.
"""

from __future__ import annotations

from sampan.engine import events
from sampan.engine.context import Context
from sampan.engine.records import ContainerRecord
from sampan.errors import InvalidState


def _cgroup(rec: ContainerRecord):
    from sampan.runtime.base import cgroups_path
    from sampan.runtime.cgroups import open_cgroup
    return open_cgroup(cgroups_path(rec.id, rec.config.get("cgroup_parent")))


def is_frozen(cid: str, parent: str | None = None) -> bool:
    from sampan.runtime.base import cgroups_path
    from sampan.runtime.cgroups import DEFAULT_ROOT
    from sampan.runtime.cgroups.freeze import is_frozen_path
    return is_frozen_path(DEFAULT_ROOT, cgroups_path(cid, parent).lstrip("/"))


def pause(ctx: Context, rec: ContainerRecord) -> None:
    from sampan.engine.status import status_of
    from sampan.runtime.cgroups.freeze import freeze
    with ctx.container_lock(rec.id):
        rec = ctx.containers.get(rec.id) or rec
        st = status_of(rec)
        if not st.running:
            raise InvalidState(f"container {rec.name} is not running")
        if st.paused:
            raise InvalidState(f"container {rec.name} is already paused")
        freeze(_cgroup(rec))
    events.container_event(ctx, rec, "pause")


def unpause(ctx: Context, rec: ContainerRecord) -> None:
    from sampan.engine.status import status_of
    from sampan.runtime.cgroups.freeze import thaw
    with ctx.container_lock(rec.id):
        rec = ctx.containers.get(rec.id) or rec
        st = status_of(rec)
        if not st.paused:
            raise InvalidState(f"container {rec.name} is not paused")
        thaw(_cgroup(rec))
    events.container_event(ctx, rec, "unpause")


def thaw_if_frozen(ctx: Context, rec: ContainerRecord) -> None:
    """For stop, kill and rm -f: thaw a paused container (no lock: rm holds it already)."""
    if not is_frozen(rec.id, rec.config.get("cgroup_parent")):
        return
    from sampan.runtime.cgroups.freeze import thaw
    try:
        thaw(_cgroup(rec))
    except Exception:
        return
    events.container_event(ctx, rec, "unpause")
