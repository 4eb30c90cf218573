"""Build an OCI runtime-spec config.json for a container, with Docker's defaults."""

from __future__ import annotations

from sampan.specgen import defaults
from sampan.specgen.users import ExecUser

NETNS_NEW = "new"    # an empty network namespace (loopback only): --network none
NETNS_HOST = "host"  # share the host's: --network host


class SpecInputs:
    """What the engine decided about one container. A plain class: `run` imports it."""

    __slots__ = ("rootfs", "argv", "env", "cwd", "user", "hostname", "tty", "readonly_rootfs",
                 "mounts", "etc_files", "netns", "cgroups_path", "memory", "cpu_quota",
                 "pids_limit", "no_new_privileges", "cap_add", "cap_drop", "annotations")

    def __init__(self, rootfs: str, argv: list[str], env: list[str], cwd: str, user: ExecUser,
                 hostname: str, tty: bool = False, readonly_rootfs: bool = False,
                 mounts: list[dict] | None = None, etc_files: dict[str, str] | None = None,
                 netns: str = NETNS_NEW, cgroups_path: str = "", memory: int | None = None,
                 cpu_quota: int | None = None, pids_limit: int | None = None,
                 no_new_privileges: bool = False, cap_add: list[str] | None = None,
                 cap_drop: list[str] | None = None,
                 annotations: dict[str, str] | None = None) -> None:
        self.rootfs = rootfs
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.user = user
        self.hostname = hostname
        self.tty = tty
        self.readonly_rootfs = readonly_rootfs
        self.mounts = [] if mounts is None else mounts            # user mounts: volumes, binds, tmpfs
        self.etc_files = {} if etc_files is None else etc_files    # /etc/hosts -> host file
        self.netns = netns  # NETNS_NEW, NETNS_HOST or a path to join
        self.cgroups_path = cgroups_path
        self.memory = memory
        self.cpu_quota = cpu_quota
        self.pids_limit = pids_limit
        self.no_new_privileges = no_new_privileges
        self.cap_add = [] if cap_add is None else cap_add
        self.cap_drop = [] if cap_drop is None else cap_drop
        self.annotations = {} if annotations is None else annotations


def _caps(inputs: SpecInputs) -> list[str]:
    caps = list(defaults.DEFAULT_CAPS)
    for c in inputs.cap_add:
        if c not in caps:
            caps.append(c)
    return [c for c in caps if c not in inputs.cap_drop]


def _namespaces(inputs: SpecInputs) -> list[dict]:
    ns = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if inputs.netns == NETNS_NEW:
        ns.append({"type": "network"})
    elif inputs.netns != NETNS_HOST:
        ns.append({"type": "network", "path": inputs.netns})
    return ns


def _resources(inputs: SpecInputs) -> dict:
    res: dict = {"devices": defaults.device_rules()}
    if inputs.memory:
        # Docker without --memory-swap: swap limit = 2x memory; we give none, so the
        # limit means what users expect and the OOM killer acts at the limit.
        res["memory"] = {"limit": inputs.memory, "swap": inputs.memory}
    if inputs.cpu_quota:
        res["cpu"] = {"quota": inputs.cpu_quota, "period": 100_000}
    if inputs.pids_limit:
        res["pids"] = {"limit": inputs.pids_limit}
    return res


def _mounts(inputs: SpecInputs) -> list[dict]:
    mounts = defaults.base_mounts()
    user_dests = {m["destination"].rstrip("/") or "/" for m in inputs.mounts}
    # A user mount on a default path (e.g. --tmpfs /dev/shm) replaces the default.
    mounts = [m for m in mounts if m["destination"] not in user_dests]
    for dest, src in inputs.etc_files.items():
        if dest not in user_dests:
            mounts.append({"destination": dest, "type": "bind", "source": src,
                           "options": ["rbind", "rprivate"]})
    mounts.extend(inputs.mounts)
    return mounts


def _sysctls(inputs: SpecInputs) -> dict:
    # As Docker 20.10+: in a network namespace of its own, any user may bind ports
    # below 1024 (a USER www-data web server on :80 just works).
    if inputs.netns == NETNS_HOST:
        return {}
    return {"net.ipv4.ip_unprivileged_port_start": "0"}


def generate(inputs: SpecInputs) -> dict:
    caps = _caps(inputs)
    user: dict = {"uid": inputs.user.uid, "gid": inputs.user.gid}
    if inputs.user.additional_gids:
        user["additionalGids"] = list(inputs.user.additional_gids)
    process = {
        "terminal": inputs.tty,
        "user": user,
        "args": list(inputs.argv),
        "env": list(inputs.env),
        "cwd": inputs.cwd or "/",
        "capabilities": {
            "bounding": caps, "effective": caps, "permitted": caps,
            "inheritable": [], "ambient": [],
        },
        "rlimits": defaults.default_rlimits(),
        "noNewPrivileges": inputs.no_new_privileges,
    }
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": inputs.rootfs, "readonly": inputs.readonly_rootfs},
        "hostname": inputs.hostname,
        "mounts": _mounts(inputs),
        "annotations": dict(inputs.annotations),
        "linux": {
            "namespaces": _namespaces(inputs),
            "cgroupsPath": inputs.cgroups_path,
            "resources": _resources(inputs),
            "sysctl": _sysctls(inputs),
            "maskedPaths": list(defaults.MASKED_PATHS),
            "readonlyPaths": list(defaults.READONLY_PATHS),
        },
    }
