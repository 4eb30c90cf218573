"""--volumes-from CONTAINER[:ro|rw] (HostConfig.VolumesFrom): another container's volumes
and bind mounts, at the same paths, as Docker's registerMountPoints copies them.

The mounts are copied into the new container's own record, so the named volumes they
name stay in use (`volume rm` refuses) even after the donor is removed, as in Docker.
"""

from __future__ import annotations

from sampan.engine.mounts import MountPlan
from sampan.errors import ContainerNotFound, InvalidArgument

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.context import Context

_MODES = ("ro", "rw")


def parse_spec(spec: str) -> tuple[str, str]:
    """CONTAINER[:ro|rw] -> (container, mode), as moby's ParseVolumesFrom (no propagation,
    no copy mode: a donor's mounts keep theirs)."""
    if not isinstance(spec, str) or not spec:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    ref, _, mode = spec.partition(":")
    if not ref:
        raise InvalidArgument(f"invalid --volumes-from {spec[:80]!r}: give CONTAINER[:ro|rw]")
    if mode and mode not in _MODES:
        raise InvalidArgument(f"invalid mode: {mode[:40]}")
    return ref, mode or "rw"


def check(specs: list[str]) -> list[tuple[str, str]]:
    """Every spec parsed before the image is looked up (a typo is one line at once)."""
    return [parse_spec(s) for s in specs]


def plans(ctx: Context, parsed: list[tuple[str, str]]) -> list[MountPlan]:
    """The donors' volume and bind mounts (read-only when the donor's is, or when :ro),
    later donors over earlier ones at the same destination, as Docker's map. An unknown
    donor is Docker's "No such container", a bad parameter as there (a 400, not the 404 that
    sends the docker CLI pulling the image; create exits 125)."""
    out: dict[str, MountPlan] = {}
    for ref, mode in parsed:
        try:
            donor = ctx.containers.find(ref)
        except ContainerNotFound as e:
            raise InvalidArgument(e.message) from None
        for m in donor.config["mounts"]:
            if m["kind"] not in ("volume", "bind"):
                continue  # a tmpfs is the donor's own memory: Docker does not share it either
            opts = [o for o in m.get("options") or [] if o != "nocopy"]
            if m["kind"] == "volume":
                opts.append("nocopy")  # Docker: CopyData false, the donor's files are already there
            out[m["destination"]] = MountPlan(m["kind"], m["destination"], m["source"],
                                              bool(m["readonly"]) or mode == "ro", opts)
    return list(out.values())
