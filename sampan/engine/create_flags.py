"""The run/create flags that shape a container's process and kernel settings, checked at
create: --ulimit, --sysctl, --shm-size, --group-add, --dns-search/--dns-option, --init,
--log-driver, --platform. Each returns what the container's config records."""

from __future__ import annotations

from sampan.engine.namespaces import parse_mode
from sampan.errors import ImageNotFound, InvalidArgument
from sampan.specgen import units
from sampan.specgen.sysctls import parse_sysctls
from sampan.specgen.ulimits import check_grantable, parse_ulimit

LOG_DRIVERS = ("json-file", "local", "none")
DEFAULT_SHM = 64 * 1024 * 1024


def check(ctx, opts) -> dict:
    """Every flag of this module, checked before the image is looked up (a mistyped one is
    one line at once): the container config's entries. "platform" is the parsed
    (os, arch, variant) until check_platform() compares it with the image."""
    modes = {k + "_mode": parse_mode(ctx, k, getattr(opts, k + "_mode")) for k in ("pid", "ipc", "uts")}
    if modes["uts_mode"] == "host" and opts.hostname:
        raise InvalidArgument("conflicting options: hostname and the UTS mode")
    if opts.init:
        init_binary()
    return {
        "init": bool(opts.init), "ulimits": ulimits(opts.ulimits), "shm_size": shm_size(opts.shm_size),
        "sysctls": parse_sysctls(opts.sysctls, opts.network or "bridge", modes["ipc_mode"]), **modes,
        "group_add": list(opts.group_add), "dns_search": dns_search(opts.dns_search),
        "dns_options": dns_options(opts.dns_options), "log_driver": log_driver(opts.log_driver),
        "platform": parse_platform(opts.platform),
    }


def ulimits(items: list) -> list[dict]:
    out: dict[str, dict] = {}
    for item in items:
        u = parse_ulimit(item)
        out[u["Name"]] = u  # a later one of the same name wins, as Docker's map
    check_grantable(list(out.values()))
    return list(out.values())


def shm_size(value) -> int | None:
    """--shm-size: bytes (Docker's RAMInBytes); 0 or none: the default 64 MiB."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str):
        n = units.parse_bytes(value, "--shm-size")
    else:
        raise InvalidArgument("ShmSize must be a whole number of bytes")
    if n <= 0:
        raise InvalidArgument(f"invalid --shm-size {value!r}: SHM size can not be less than 0")
    return n


def dns_search(items: list[str]) -> list[str]:
    import re
    out = []
    for d in items:
        d = d.strip(" ")
        if d != "." and (not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?", d) or len(d) > 253
                         or not re.search(r"[A-Za-z]", d)):
            raise InvalidArgument(f"invalid --dns-search {units.shown(d)}: {d} is not a valid domain")
        out.append(d)
    return out


def dns_options(items: list[str]) -> list[str]:
    for o in items:
        if not o or any(c.isspace() for c in o):
            raise InvalidArgument(f"invalid --dns-option {units.shown(o)}: one word such as ndots:2")
    return list(items)


def log_driver(name: str | None) -> str:
    name = name or "json-file"
    if name not in LOG_DRIVERS:
        raise InvalidArgument(f"log driver {name!r} is not supported: use json-file, local or none")
    return name


def parse_platform(text: str | None) -> tuple[str, str, str] | None:
    """--platform os[/arch[/variant]] -> (os, arch, variant), arch in Go's spelling."""
    if not text:
        return None
    from sampan.oci.platform import goarch
    parts = text.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidArgument(f'"{text}": unknown operating system or architecture: invalid argument')
    os_name = parts[0]
    if os_name != "linux":
        raise InvalidArgument(f'"{text}": operating system {os_name!r} is not supported: only linux')
    arch = goarch(parts[1]) if len(parts) > 1 else goarch()
    return os_name, arch, parts[2] if len(parts) > 2 else ""


def check_platform(wanted: tuple[str, str, str] | None, ref: str, image) -> str | None:
    """Docker's answer when the local image is of another platform; None when no --platform."""
    if wanted is None:
        return None
    cfg = image.config or {}
    have = (cfg.get("os") or "linux", cfg.get("architecture") or "", cfg.get("variant") or "")
    want = "/".join(p for p in wanted if p)
    if have[:2] != wanted[:2] or (wanted[2] and have[2] and wanted[2] != have[2]):
        shown = "/".join(p for p in have if p)
        raise ImageNotFound(f"image with reference {ref} was found but its platform ({shown}) does not "
                            f"match the specified platform ({want})")
    from sampan.oci.platform import goarch
    if wanted[1] != goarch():
        raise InvalidArgument(f"platform {want} cannot run on this {goarch()} host")
    return want


def init_binary() -> str:
    """The static tini bound into the container as /sbin/docker-init (Debian's tini)."""
    import os
    path = "/usr/bin/tini-static"  # static: it runs in any image, whatever its libc
    if os.path.isfile(path):
        return path
    raise InvalidArgument("--init needs tini's static binary (/usr/bin/tini-static: "
                          "apt-get install tini)")
