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


# --mount (Docker's CSV syntax, docker/cli opts/mount.go) and the API's Mount objects: both
# become Docker's Mount shape, checked as the daemon checks it, then a MountPlan.
_FLAG_KEYS = {"type", "source", "src", "target", "dst", "destination", "readonly", "ro", "consistency",
              "bind-propagation", "volume-nocopy", "tmpfs-size", "tmpfs-mode"}
_BARE_KEYS = {"readonly", "ro", "volume-nocopy"}
_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def _bool(key: str, value: str | None) -> bool:
    if value is None:
        return True
    v = value.lower()
    if v in ("1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise InvalidArgument(f'invalid value for {key}: {value}')


def mount_from_flag(spec: str) -> dict:
    """One --mount value -> Docker's Mount object. Relative sources (./x) are made absolute."""
    import csv
    text = spec.strip()
    if not text:
        raise InvalidArgument("invalid argument for --mount: value is empty")
    try:
        fields = next(csv.reader([text]))
    except csv.Error as e:
        raise InvalidArgument(f"invalid argument {spec!r} for --mount: {e}") from None
    m: dict = {"Type": "volume"}
    for field in fields:
        key, eq, value = field.partition("=")
        if key.strip() != key:
            raise InvalidArgument(f"invalid option '{key.strip()}' in '{field}': option should not have whitespace")
        if eq and (not value.strip() or value.strip() != value):
            raise InvalidArgument(f"invalid value for '{key}': value is empty" if not value.strip() else
                                  f"invalid value for '{key}' in '{field}': value should not have whitespace")
        key = key.lower()
        if not eq and key not in _BARE_KEYS:
            raise InvalidArgument(f"invalid field '{field}' must be a key=value pair")
        if key not in _FLAG_KEYS:
            raise InvalidArgument(f"unknown option '{key}' in '{field}'")
        val = value if eq else None
        if key == "type":
            m["Type"] = value.lower()
        elif key in ("source", "src"):
            m["Source"] = os.path.abspath(value) if value.startswith(".") else value
        elif key in ("target", "dst", "destination"):
            m["Target"] = value
        elif key in ("readonly", "ro"):
            m["ReadOnly"] = _bool(key, val)
        elif key == "bind-propagation":
            m.setdefault("BindOptions", {})["Propagation"] = value.lower()
        elif key == "volume-nocopy":
            m.setdefault("VolumeOptions", {})["NoCopy"] = _bool(key, val)
        elif key == "tmpfs-size":
            from sampan.specgen.units import parse_bytes
            try:
                size = parse_bytes(value, "tmpfs-size")
            except InvalidArgument:
                raise InvalidArgument(f"invalid value for {key}: {value}") from None
            m.setdefault("TmpfsOptions", {})["SizeBytes"] = size
        elif key == "tmpfs-mode":
            try:
                mode = int(value, 8)
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {value}") from None
            if not 0 <= mode < 2**32:
                raise InvalidArgument(f"invalid value for {key}: {value}")
            m.setdefault("TmpfsOptions", {})["Mode"] = mode
        # consistency: macOS only; accepted and ignored, as Docker on Linux
    return m


def _mount_error(kind: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid mount config for type "{kind}": {why}')


def parse_mount(m) -> MountPlan:
    """A --mount string or an API Mount object -> a MountPlan, with the daemon's checks."""
    if isinstance(m, str):
        m = mount_from_flag(m)
    if not isinstance(m, dict):
        raise InvalidArgument("each of Mounts must be a JSON object")
    kind = m.get("Type") or "volume"
    src, dst = m.get("Source") or "", m.get("Target") or ""
    ro = m.get("ReadOnly")
    ro = False if ro is None else ro  # clients send null for what they leave unset (docker-compose 1.x)
    if not all(isinstance(v, str) for v in (kind, src, dst)) or not isinstance(ro, bool):
        raise InvalidArgument("a mount's Type, Source and Target are strings, ReadOnly a boolean")
    opts = {k: m.get(k) for k in ("BindOptions", "VolumeOptions", "TmpfsOptions")}
    for k, v in opts.items():
        if v is not None and not isinstance(v, dict):
            raise InvalidArgument(f"a mount's {k} must be a JSON object")
    if kind not in ("bind", "volume", "tmpfs"):
        raise _mount_error(kind, "mount type unknown" if kind not in ("npipe", "cluster", "image")
                           else "not supported on this engine")
    for k, owner in (("BindOptions", "bind"), ("VolumeOptions", "volume"), ("TmpfsOptions", "tmpfs")):
        if opts[k] and kind != owner:
            raise _mount_error(kind, f"field {k} must not be specified")
    if not dst:
        raise _mount_error(kind, "field Target must not be empty")
    if not dst.startswith("/"):
        raise _mount_error(kind, f"invalid mount path: '{dst}' mount path must be absolute")
    dest = os.path.normpath(dst)
    if dest == "/":
        raise _mount_error(kind, "invalid specification: destination can't be '/'")
    if kind == "bind":
        return _bind_plan(src, dest, ro, opts["BindOptions"] or {})
    if kind == "volume":
        nocopy = (opts["VolumeOptions"] or {}).get("NoCopy", False)
        if src and not valid_volume_name(src):
            raise _mount_error(kind, f"{src!r} is not a valid volume name: [a-zA-Z0-9][a-zA-Z0-9_.-]")
        return MountPlan("volume", dest, src, ro, ["nocopy"] if nocopy is True else [])
    if src:
        raise _mount_error(kind, "field Source must not be specified")
    return MountPlan("tmpfs", dest, "", ro, _tmpfs_options(opts["TmpfsOptions"] or {}, dest))


def _bind_plan(src: str, dest: str, ro: bool, bind: dict) -> MountPlan:
    if not src:
        raise _mount_error("bind", "field Source must not be empty")
    if not src.startswith("/"):
        raise _mount_error("bind", f"invalid mount path: '{src}' mount path must be absolute")
    prop = bind.get("Propagation") or ""
    if not isinstance(prop, str) or (prop and prop not in _PROPAGATIONS):
        raise _mount_error("bind", f"invalid propagation mode: {prop}")
    path = os.path.normpath(src)  # /a/../b is /b: inspect and the bundle show what is bound
    if not os.path.exists(path):  # unlike -v, --mount never makes the source
        raise _mount_error("bind", f"bind source path does not exist: {path}")
    return MountPlan("bind", dest, path, ro, [prop] if prop else [])


def _tmpfs_options(t: dict, dest: str) -> list[str]:
    out = []
    size, mode = t.get("SizeBytes"), t.get("Mode")
    for name, v in (("SizeBytes", size), ("Mode", mode)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise _mount_error("tmpfs", f"TmpfsOptions.{name} must be a whole number")
    if size:
        out.append(f"size={size}")
    if mode:
        if mode > 0o7777:
            raise _mount_error("tmpfs", f"unsupported tmpfs mode {mode:o}")
        out.append(f"mode={mode:o}")
    from sampan.specgen.units import check_tmpfs_option
    for o in out:
        check_tmpfs_option(o, dest)
    return out
