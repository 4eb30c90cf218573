"""`create`: validate everything first, then write the container's directories and record.

Nothing is left behind when any check fails: all validation happens before
the first write, and a failure after it removes what was written.
"""

from __future__ import annotations

import os
import re
import signal as _signal

from sampan.engine import create_compat
from sampan.engine import create_flags as flags
from sampan.engine import security
from sampan.engine.bundle import LIMIT_KEYS
from sampan.engine.context import Context
from sampan.engine.mounts import MountPlan, mount_from_flag, parse_mount, parse_tmpfs, parse_volume
from sampan.engine.names import random_name
from sampan.engine.namespaces import namespace_paths
from sampan.engine.options import RunOptions
from sampan.engine.records import ContainerRecord, now_rfc3339
from sampan.errors import Conflict, InvalidArgument
from sampan.specgen import units
from sampan.specgen.command import merge_command
from sampan.specgen.users import resolve_groups, resolve_user
from sampan.state import explain
from sampan.store.merged_view import MergedView

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig, ResourceLimits
    from sampan.store.types import ImageInfo

_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# Room a new container needs on the root's filesystem: its record, directories, bundle and
# /etc files take some tens of KiB; its logs and its own writes come later.
MIN_FREE = 1 << 20

def parse_signal(value: str | None, default: str = "SIGTERM") -> int:
    value = (value or default).upper()
    if value.isdigit():
        n = int(value)
        if 0 < n < 65:
            return n
    else:
        name = value if value.startswith("SIG") else "SIG" + value
        if hasattr(_signal.Signals, name):
            return int(_signal.Signals[name])
    raise InvalidArgument(f"invalid signal {value!r}: use a name such as SIGTERM or a number")


def build_config(ctx: Context, opts: RunOptions) -> tuple[ContainerConfig, ImageInfo]:
    """Check every option and resolve the image. Returns (container config, image info).
    What the image does not decide is checked before it is looked up: a mistyped flag is
    one line at once, not a pull and then the line."""
    add_hosts = [_parse_add_host(h) for h in opts.add_hosts]
    for d in opts.dns:
        _check_ip(d, "--dns")
    memory = units.parse_memory(opts.memory) if opts.memory else None
    cpu_quota = units.parse_cpus(opts.cpus) if opts.cpus else None
    pids = units.parse_pids_limit(opts.pids_limit) if opts.pids_limit else None
    limits = _more_limits(opts, memory)
    if pids == -1:
        pids = None
    sec = security.parse_security_opts(opts.security_opt)
    security.check_caps(opts.cap_add, opts.cap_drop)
    devices = security.parse_devices(opts.devices)
    if opts.stop_signal:
        parse_signal(opts.stop_signal)
    plans = [parse_volume(v) for v in opts.volumes] + [parse_tmpfs(t) for t in opts.tmpfs]
    compat = create_compat.check(ctx, opts)  # --annotation, --userns, --gpus, --use-api-socket, ...
    mount_specs = [mount_from_flag(m) if isinstance(m, str) else m for m in opts.mounts] + compat.pop("mounts")
    plans += [parse_mount(m) for m in mount_specs]
    shared = []
    if opts.volumes_from:  # the user's own mounts win at a destination, as in Docker
        from sampan.engine import volumes_from
        mine = {p.destination for p in plans}
        shared = [p for p in volumes_from.plans(ctx, volumes_from.check(opts.volumes_from))
                  if p.destination not in mine]
        plans += shared
    more = flags.check(ctx, opts)  # --ulimit, --sysctl, --pid/--ipc/--uts, --init, ...
    if _cgroup_flags_given(opts):
        from sampan.engine import cgroup_flags
        more.update(cgroup_flags.check(opts, nano_cpus_given=bool(opts.cpus)))
    if opts.name is not None and not _NAME_RE.match(opts.name.lstrip("/")):
        raise InvalidArgument(f"invalid container name {opts.name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]+")
    restart = _restart_policy(opts)
    exposed, domain = _net_flags(opts)
    log_max = units.parse_bytes(opts.log_max_size, "--log-opt max-size") if opts.log_max_size else 10 * 1024 * 1024

    image = image_for_run(ctx, opts.image, opts.pull, platform=opts.platform, quiet=opts.quiet)
    more["platform"] = flags.check_platform(more["platform"], opts.image, image)
    icfg = (image.config or {}).get("config") or {}
    from sampan.engine import networking
    net = networking.plan(ctx, opts.network, opts.publish, opts.publish_all,
                          {**(icfg.get("ExposedPorts") or {}), **dict.fromkeys(exposed, {})},
                          opts.network_aliases, opts.ip)
    if opts.links:
        from sampan.engine import links
        linked = links.check(ctx, opts.links, net["network"])
    argv = merge_command(icfg.get("Entrypoint"), icfg.get("Cmd"), opts.entrypoint, opts.args)
    stop_signal = opts.stop_signal or icfg.get("StopSignal") or "SIGTERM"
    parse_signal(stop_signal)
    for v in (icfg.get("Volumes") or {}):
        if not any(p.destination == os.path.normpath(v) for p in plans):
            plans.append(MountPlan("volume", os.path.normpath(v)))  # image VOLUME: anonymous
    seen = set()
    for p in plans:
        if p.destination in seen:
            raise InvalidArgument(f"duplicate mount point: {p.destination}")
        seen.add(p.destination)
    user_spec = opts.user if opts.user is not None else (icfg.get("User") or "")
    lowers = ctx.images.layer_dirs(image)
    view = MergedView(lowers)
    exec_user = resolve_user(view, user_spec)
    groups = resolve_groups(view, list(opts.group_add))  # --group-add: names of the image's /etc/group
    exec_user.additional_gids += [g for g in groups if g not in exec_user.additional_gids]
    workdir = opts.workdir or icfg.get("WorkingDir") or "/"
    if not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory {workdir!r} is not an absolute path")
    config: ContainerConfig = {
        "argv": argv, "user_env": list(opts.env), "image_env": icfg.get("Env") or [],
        "workdir": workdir, "user": user_spec,
        "exec_user": {"uid": exec_user.uid, "gid": exec_user.gid,
                      "additional_gids": exec_user.additional_gids, "home": exec_user.home},
        "hostname": opts.hostname or "", "tty": opts.tty, "open_stdin": opts.interactive,
        "console_size": _console_size(opts.console_size) if opts.tty else None,
        "mounts": [p.to_json() for p in plans], "read_only": opts.read_only,
        "memory": memory, "cpu_quota": cpu_quota, "cpus": opts.cpus, "pids_limit": pids,
        **limits,
        "network": net["network"], "ports": net["ports"], "aliases": net["aliases"], "ip": net["ip"],
        "dns": list(opts.dns), "add_hosts": add_hosts, "auto_remove": opts.auto_remove, "labels": dict(opts.labels),
        "no_new_privileges": sec["no_new_privileges"], "seccomp": sec["seccomp"],
        "security_opt": sec["security_opt"], "cap_add": list(opts.cap_add), "cap_drop": list(opts.cap_drop),
        "privileged": bool(opts.privileged), "devices": devices,
        "stop_signal": stop_signal, "stop_timeout": opts.stop_timeout,
        "runtime": opts.runtime or ctx.default_runtime,
        "log": {"max_size": log_max, "max_files": opts.log_max_files or 3},
        "entrypoint_override": opts.entrypoint, "args": list(opts.args),
        "image_config": icfg,
        **more, **compat, "mount_specs": mount_specs,
    }
    if opts.links:
        config["links"] = linked  # [[container id, alias], ...]
    if exposed:
        config["exposed"] = exposed
    if domain:
        config["domainname"] = domain
    if opts.volumes_from:
        config["volumes_from"] = list(opts.volumes_from)
        config["volumes_from_targets"] = [p.destination for p in shared]  # not Binds in inspect
    if restart:
        config["restart_policy"] = restart
    health = _healthcheck(opts.healthcheck, icfg.get("Healthcheck"))
    if health:
        config["healthcheck"] = health
    security.check_runtime_can_load(config, security.caps_of(config))
    return config, image


_CGROUP_OPTS = ("cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "kernel_memory",
                "blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops",
                "device_write_iops", "memory_swappiness", "oom_kill_disable", "oom_score_adj",
                "cgroup_parent", "cgroupns", "device_cgroup_rules")


def _cgroup_flags_given(opts: RunOptions) -> bool:
    """The common run sets none of them: cgroup_flags is not even imported then. cgroupns
    has a default per host, recorded only when asked (inspect gives the default)."""
    return any(getattr(opts, k) not in (None, "", [], False) for k in _CGROUP_OPTS)


def _net_flags(opts: RunOptions) -> tuple[list[str], str]:
    """--expose as Docker's port keys and --domainname, checked (the module only when given)."""
    if not opts.expose and not opts.domainname:
        return [], ""
    from sampan.engine.net_flags import check_domainname, parse_expose
    return parse_expose(opts.expose), check_domainname(opts.domainname)


def _restart_policy(opts: RunOptions) -> dict | None:
    if not opts.restart:
        return None
    from sampan.engine import restart_policy
    policy = restart_policy.parse(opts.restart) if isinstance(opts.restart, str) \
        else restart_policy.check(opts.restart)
    if policy and opts.auto_remove:
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    return policy


def _healthcheck(asked: dict | None, image: dict | None) -> dict | None:
    """The healthcheck to run: the image's, with what the user set over it (Docker merges
    field by field); None when there is none or its test is NONE."""
    if not asked and not (image and image.get("Test")):
        return None  # the common case, kept free of the import
    from sampan.engine.health_config import merge
    return merge(asked, image)


def image_for_run(ctx: Context, ref: str, pull: str, auths: dict | None = None, platform: str | None = None,
                  quiet: bool = False):
    """The local image, pulled first when Docker would (`--pull missing` is the default).
    ``auths``: {registry domain: (user, password)} for this call (a build's X-Registry-Config).
    ``quiet``: no "Unable to find" line and no pull progress (run -q)."""
    from sampan.errors import ImageNotFound, SampanError

    if pull not in ("missing", "always", "never"):
        raise InvalidArgument(f"invalid --pull {pull!r}: missing, always or never")
    if pull != "always":
        try:
            return ctx.images.resolve(ref)
        except ImageNotFound:
            if pull == "never" or _looks_like_id(ref):
                raise
    import sys

    from sampan.oci.reference import parse_reference
    familiar = parse_reference(ref).familiar()
    if pull == "missing" and not quiet:
        sys.stderr.write(f"Unable to find image '{familiar}' locally\n")
    from sampan.registry.pull import pull as registry_pull
    try:
        return registry_pull(ctx.images, ref, auth=_auth_for(ref, auths), platform=platform,
                             progress=False if quiet else None)
    except SampanError as e:
        raise ImageNotFound(f"{e.message} (`sampan images` lists local images; `sampan import` or "
                            f"`sampan load` adds one without a registry)") from None


def _auth_for(ref: str, auths: dict | None):
    if not auths:
        return None
    from sampan.oci.reference import parse_reference
    from sampan.registry.names import normalize_login_target
    domain = normalize_login_target(parse_reference(ref).domain)
    return next((cred for key, cred in auths.items() if normalize_login_target(key) == domain), None)


def _looks_like_id(ref: str) -> bool:
    hexpart = ref[7:] if ref.startswith("sha256:") else ref
    return len(hexpart) >= 12 and all(c in "0123456789abcdef" for c in hexpart)


def _check_ip(value: str, flag: str) -> str:
    import ipaddress
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidArgument(f"invalid {flag} {value!r}: expected an IP address") from None


def _parse_add_host(spec: str) -> list[str]:
    host, sep, ip = spec.partition(":") if spec.count(":") == 1 else spec.partition("=")
    if not sep or not host:
        raise InvalidArgument(f"invalid --add-host {spec!r}: expected HOST:IP")
    if ip == "host-gateway":
        raise InvalidArgument("--add-host with host-gateway is not supported yet: give an IP")
    return [host, _check_ip(ip, "--add-host")]


def _insert(table, rec: ContainerRecord, generated: bool) -> None:
    """Record the container. A generated name that another create took meanwhile (fifty
    clients at once of ~2,000 names clash half the time) is drawn again, as Docker does;
    a name the user chose is theirs to change."""
    for _ in range(20):
        try:
            table.insert(rec)
            return
        except Conflict:
            if not generated:
                raise
            rec.name = random_name(table.names())
    table.insert(rec)


def create_container(ctx: Context, opts: RunOptions) -> ContainerRecord:
    from sampan.state.trace import mark
    mark("create begin")
    config, image = build_config(ctx, opts)
    if explain.on():
        from sampan.engine.explain_steps import image_layers
        image_layers(ctx, image, opts.image)
    for m in config["mounts"]:
        # As Docker, a missing bind source is created - only once every option checked out.
        if m["kind"] == "bind" and not os.path.exists(m["source"]):
            os.makedirs(m["source"], exist_ok=True)
    cid = os.urandom(32).hex()
    table = ctx.containers
    taken = table.names()
    name = opts.name.lstrip("/") if opts.name else random_name(taken)
    if opts.name and name in taken:
        clash = table.find(name)
        raise Conflict(f'the container name "/{name}" is already in use by container {clash.id[:12]}; '
                       f"remove it (`sampan rm {name}`) or choose another --name")
    config["hostname"] = config["hostname"] or (
        os.uname().nodename if opts.network == "host" or config["uts_mode"] == "host" else cid[:12])
    from sampan.state.nospace import require_free
    require_free(ctx.paths.root, MIN_FREE)  # not a half-made container on a full disk
    files = ctx.container_files(cid)
    files["dir"].mkdir(0o700)  # config.json, logs: root's alone
    try:
        for d in ("upper", "work", "rootfs"):
            files[d].mkdir()
        os.chmod(files["upper"], 0o755)  # the container's "/" (overlay shows upper's mode), whatever the umask
        from sampan.engine.runstate import make_init_layer
        make_init_layer(files["init"])
        ref = opts.image
        rec = ContainerRecord(id=cid, name=name, image_id=image.id, image_ref=ref,
                              created=now_rfc3339(), config=config, state="created")
        _volumes_for(ctx, rec)  # named volumes are created on first use
        _insert(table, rec, generated=not opts.name)  # the bundle is written at every start
        mark("create end")
    except BaseException:
        import shutil  # lazily: shutil pulls in bz2 and lzma
        shutil.rmtree(files["dir"], ignore_errors=True)
        raise
    return rec


def _volumes_for(ctx: Context, rec: ContainerRecord) -> None:
    """Create the named and anonymous volumes this container uses; record their names."""
    for m in rec.config["mounts"]:
        if m["kind"] != "volume":
            continue
        info, _ = ctx.volumes.create(m["source"] or None)
        m["source"] = info.name


def _console_size(size: tuple[int, int] | list[int] | None) -> list[int] | None:
    if size is None:
        return None
    try:
        rows, cols = (int(x) for x in size)
    except (TypeError, ValueError):
        raise InvalidArgument("the console size must be two numbers: rows and columns") from None
    if not (0 <= rows <= 65535 and 0 <= cols <= 65535):
        raise InvalidArgument("the console size must be 0 to 65535 rows and columns")
    return [rows, cols] if rows and cols else None


def _more_limits(opts: RunOptions, memory: int | None) -> ResourceLimits:
    """--memory-swap, --memory-reservation, --cpu-shares, --cpuset-*, --blkio-weight: the values
    for the spec's linux.resources (None: not given)."""
    out: ResourceLimits = dict.fromkeys(LIMIT_KEYS)  # type: ignore[assignment]  # LIMIT_KEYS: its keys
    if opts.memory_swap and opts.memory_swap.strip() != "0":  # 0: unset, as in Docker
        out["memory_swap"] = units.parse_memory_swap(opts.memory_swap, memory)
    if opts.memory_reservation:
        out["memory_reservation"] = units.parse_memory_reservation(opts.memory_reservation, memory)
    if opts.cpu_shares and opts.cpu_shares.strip() != "0":
        out["cpu_shares"] = units.parse_cpu_shares(opts.cpu_shares)
    if opts.cpuset_cpus:
        out["cpuset_cpus"] = units.parse_cpuset(opts.cpuset_cpus, "--cpuset-cpus", units.CPUS_ONLINE)
    if opts.cpuset_mems:
        out["cpuset_mems"] = units.parse_cpuset(opts.cpuset_mems, "--cpuset-mems", units.MEMS_ONLINE)
    if opts.blkio_weight and opts.blkio_weight.strip() != "0":
        weight = units.parse_blkio_weight(opts.blkio_weight)
        from sampan.runtime.cgroups import blkio_weight_file
        if blkio_weight_file() is None:
            # as Docker: the container still runs, without the weight
            opts.warn("this kernel's block IO controller or scheduler takes no weight "
                      "(no blkio.weight, io.weight or io.bfq.weight): --blkio-weight discarded")
        else:
            out["blkio_weight"] = weight
    return out
