"""Parsing of -v and --tmpfs into mount plans (Docker's syntax)."""

from __future__ import annotations

import os

from sampan.errors import InvalidArgument
from sampan.volumes import valid_volume_name

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import MountJson


class MountPlan:
    __slots__ = ("kind", "destination", "source", "readonly", "options")

    def __init__(self, kind: str, destination: str, source: str = "", readonly: bool = False,
                 options: list[str] | None = None) -> None:
        self.kind = kind                # "volume" | "bind" | "tmpfs"
        self.destination = destination
        self.source = source            # volume name ("" = anonymous) or host path
        self.readonly = readonly
        self.options = list(options or [])

    def to_json(self) -> MountJson:
        return {"kind": self.kind, "destination": self.destination, "source": self.source,
                "readonly": self.readonly, "options": self.options}

    @classmethod
    def from_json(cls, d: MountJson) -> "MountPlan":
        return cls(**d)


_VOLUME_OPTS = {"ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared",
                "slave", "rslave", "consistent", "cached", "delegated"}


def _check_dest(dest: str, spec: str) -> str:
    if not dest.startswith("/"):
        raise InvalidArgument(f"invalid volume specification {spec!r}: the container path must be absolute")
    norm = os.path.normpath(dest)
    if norm == "/":
        raise InvalidArgument(f"invalid volume specification {spec!r}: cannot mount over /")
    return norm


def parse_volume(spec: str, cwd: str | None = None) -> MountPlan:
    """-v [SRC:]DST[:OPTS]. SRC absolute (or ./, ../) = bind mount, else a named volume."""
    parts = spec.split(":")
    if len(parts) == 1:
        return MountPlan("volume", _check_dest(parts[0], spec))
    if len(parts) > 3 or not all(parts[:2]):
        raise InvalidArgument(f"invalid volume specification {spec!r}: expected [SOURCE:]DEST[:OPTIONS]")
    src, dest = parts[0], parts[1]
    opts = parts[2].split(",") if len(parts) == 3 else []
    bad = [o for o in opts if o not in _VOLUME_OPTS]
    if bad:
        raise InvalidArgument(f"invalid volume specification {spec!r}: unknown option {bad[0]!r}")
    if "ro" in opts and "rw" in opts:
        raise InvalidArgument(f"invalid volume specification {spec!r}: both ro and rw")
    dest = _check_dest(dest, spec)
    ro = "ro" in opts
    extra = [o for o in opts if o not in ("ro", "rw", "z", "Z", "nocopy")]
    if src.startswith(("/", "./", "../")) or src in (".", ".."):
        path = os.path.abspath(os.path.join(cwd or os.getcwd(), src))
        return MountPlan("bind", dest, path, ro, extra)
    if not valid_volume_name(src):
        raise InvalidArgument(
            f"invalid volume specification {spec!r}: {src!r} is neither an absolute path nor a valid volume name")
    return MountPlan("volume", dest, src, ro, ["nocopy"] if "nocopy" in opts else [])


def parse_tmpfs(spec: str) -> MountPlan:
    dest, _, opts = spec.partition(":")
    dest = _check_dest(dest, spec)
    options = [o for o in opts.split(",") if o] if opts else []
    from sampan.specgen.units import check_tmpfs_option
    for o in options:
        check_tmpfs_option(o, spec)
    return MountPlan("tmpfs", dest, "", "ro" in options, options)


def oci_mount(plan: MountPlan, host_source: str) -> dict:
    """The OCI spec mount for a plan whose source was resolved to host_source."""
    if plan.kind == "tmpfs":
        opts = [o for o in plan.options if o not in ("ro", "rw")]
        base = ["nosuid", "nodev", "noexec"]
        if any(o in ("exec", "suid", "dev") for o in opts):
            base = [b for b in base if b[2:] not in opts]
        return {"destination": plan.destination, "type": "tmpfs", "source": "tmpfs",
                "options": base + (["ro"] if plan.readonly else []) + opts}
    opts = ["rbind"] + (["ro"] if plan.readonly else []) + (plan.options or ["rprivate"])
    return {"destination": plan.destination, "type": "bind", "source": host_source,
            "options": [o for o in opts if o != "nocopy"]}
