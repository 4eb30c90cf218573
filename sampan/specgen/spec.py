"""Build an OCI runtime-spec config.json for a container, with Docker's defaults."""

from __future__ import annotations

from sampan.specgen import defaults
from sampan.specgen.seccomp import resolve as resolve_seccomp
from sampan.specgen.seccomp_default import DEFAULT_PROFILE
from sampan.specgen.users import ExecUser

NETNS_NEW = "new"    # an empty network namespace (loopback only): --network none
NETNS_HOST = "host"  # share the host's: --network host


class SpecInputs:
    """What the engine decided about one container. A plain class: `run` imports it."""

    __slots__ = ("rootfs", "argv", "env", "cwd", "user", "hostname", "tty", "readonly_rootfs",
                 "mounts", "etc_files", "netns", "cgroups_path", "memory", "cpu_quota",
                 "pids_limit", "no_new_privileges", "caps", "seccomp", "privileged", "devices",
                 "device_rules", "annotations", "limits", "rlimits", "sysctls", "shm_size", "shm",
                 "join")

    def __init__(self, rootfs: str, argv: list[str], env: list[str], cwd: str, user: ExecUser,
                 hostname: str, tty: bool = False, readonly_rootfs: bool = False,
                 mounts: list[dict] | None = None, etc_files: dict[str, str] | None = None,
                 netns: str = NETNS_NEW, cgroups_path: str = "", memory: int | None = None,
                 cpu_quota: int | None = None, pids_limit: int | None = None,
                 no_new_privileges: bool = False, caps: list[str] | None = None,
                 seccomp: str | dict | None = None, privileged: bool = False,
                 devices: list[dict] | None = None, device_rules: list[dict] | None = None,
                 annotations: dict[str, str] | None = None, limits: dict | None = None,
                 rlimits: list[dict] | None = None, sysctls: dict | None = None,
                 shm_size: int | None = None, shm: str | None = None,
                 join: dict | None = None) -> None:
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
        self.caps = list(defaults.DEFAULT_CAPS) if caps is None else caps  # see container_caps()
        self.seccomp = seccomp  # None: the default profile; "unconfined"; a Docker-format profile
        self.privileged = privileged
        self.devices = [] if devices is None else devices  # OCI linux.devices (specgen.devices)
        # memory_swap, memory_reservation, cpu_shares, cpuset_cpus, cpuset_mems, blkio_weight
        self.limits = {} if limits is None else limits
        self.device_rules = [] if device_rules is None else device_rules  # cgroup rules for them
        self.annotations = {} if annotations is None else annotations
        self.rlimits = rlimits  # None: Docker's default (open files)
        self.sysctls = {} if sysctls is None else sysctls  # the user's, namespaced ones only
        self.shm_size = shm_size  # /dev/shm's size in bytes (None: 64 MiB)
        self.shm = shm  # /dev/shm: None a tmpfs of its own, "" none, else a host dir to bind
        # pid, ipc, uts: "host" to share the host's, or a /proc/PID/ns path to join
        self.join = {} if join is None else join


def container_caps(cap_add: list[str], cap_drop: list[str], privileged: bool,
                   available: list[str]) -> list[str]:
    """Docker's rules (TweakCapabilities) on names already normalized (CAP_X or ALL):
    --privileged and --cap-add ALL mean every capability in `available` (what the
    engine itself holds); --cap-drop ALL keeps only what --cap-add lists."""
    if privileged:
        return list(available)
    if "ALL" in cap_add:
        return [c for c in available if c not in cap_drop]
    base = [] if "ALL" in cap_drop else [c for c in defaults.DEFAULT_CAPS if c not in cap_drop]
    for c in cap_add:
        if c not in base:
            base.append(c)
    return base


def _seccomp(inputs: SpecInputs, caps: list[str]) -> dict | None:
    """As Docker: the default profile unless unconfined; none for --privileged unless a
    profile was given; rules gated on capabilities follow the bounding set."""
    profile = inputs.seccomp
    if profile == "unconfined":
        return None
    if profile is None:
        if inputs.privileged:
            return None
        profile = DEFAULT_PROFILE
    if isinstance(profile, str):
        raise ValueError(f"seccomp profile {profile!r}: a profile object or \"unconfined\"")
    return resolve_seccomp(profile, caps)


def _namespaces(inputs: SpecInputs) -> list[dict]:
    ns = []
    for t in ("pid", "ipc", "uts", "mount", "cgroup"):
        how = "host" if t == "cgroup" and inputs.limits.get("cgroupns") == "host" else inputs.join.get(t)
        if how != "host":
            ns.append({"type": t, "path": how} if how else {"type": t})
    if inputs.netns == NETNS_NEW:
        ns.append({"type": "network"})
    elif inputs.netns != NETNS_HOST:
        ns.append({"type": "network", "path": inputs.netns})
    return ns


def _resources(inputs: SpecInputs) -> dict:
    if inputs.privileged:
        res: dict = {"devices": [{"allow": True, "access": "rwm"}]}
    else:
        res = {"devices": defaults.device_rules() + inputs.device_rules}
    lim = inputs.limits
    if inputs.memory:
        # Docker without --memory-swap: swap limit = 2x memory; we give none, so the
        # limit means what users expect and the OOM killer acts at the limit.
        res["memory"] = {"limit": inputs.memory, "swap": lim.get("memory_swap", inputs.memory)}
    if "memory_reservation" in lim:
        res.setdefault("memory", {})["reservation"] = lim["memory_reservation"]
    cpu: dict = {}
    if inputs.cpu_quota:
        cpu = {"quota": inputs.cpu_quota, "period": 100_000}
    for key, field in (("cpu_shares", "shares"), ("cpuset_cpus", "cpus"), ("cpuset_mems", "mems")):
        if key in lim:
            cpu[field] = lim[key]
    if cpu:
        res["cpu"] = cpu
    if "blkio_weight" in lim:
        res["blockIO"] = {"weight": lim["blkio_weight"]}
    if inputs.pids_limit:
        res["pids"] = {"limit": inputs.pids_limit}
    _cgroup_flags(res, lim, inputs.privileged)
    return res


def _cgroup_flags(res: dict, lim: dict, privileged: bool) -> None:
    """The flags of engine/cgroup_flags.py into linux.resources, named as runc's spec."""
    cpu = res.get("cpu") or {}
    for key, field in (("cpu_period", "period"), ("cpu_cfs_quota", "quota"),
                       ("cpu_rt_period", "realtimePeriod"), ("cpu_rt_runtime", "realtimeRuntime")):
        if key in lim:
            cpu[field] = lim[key]
    if cpu:
        res["cpu"] = cpu
    if "memory_swappiness" in lim:
        res.setdefault("memory", {})["swappiness"] = lim["memory_swappiness"]
    if lim.get("oom_kill_disable"):
        res.setdefault("memory", {})["disableOOMKiller"] = True
    blkio = res.get("blockIO") or {}
    if lim.get("blkio_weight_device"):
        blkio["weightDevice"] = [{"major": d["Major"], "minor": d["Minor"], "weight": d["Weight"]}
                                 for d in lim["blkio_weight_device"]]
    for key, field in (("blkio_read_bps", "throttleReadBpsDevice"), ("blkio_write_bps", "throttleWriteBpsDevice"),
                       ("blkio_read_iops", "throttleReadIOPSDevice"),
                       ("blkio_write_iops", "throttleWriteIOPSDevice")):
        if lim.get(key):
            blkio[field] = [{"major": d["Major"], "minor": d["Minor"], "rate": d["Rate"]} for d in lim[key]]
    if blkio:
        res["blockIO"] = blkio
    if lim.get("device_cgroup_rules") and not privileged:  # privileged already allows all
        for rule in lim["device_cgroup_rules"]:
            kind, numbers, access = rule.split(" ")
            major, minor = numbers.split(":")
            res["devices"].append({"allow": True, "type": kind, "major": None if major == "*" else int(major),
                                   "minor": None if minor == "*" else int(minor), "access": access})


def _mounts(inputs: SpecInputs) -> list[dict]:
    mounts = defaults.base_mounts(writable_sys=inputs.privileged)
    user_dests = {m["destination"].rstrip("/") or "/" for m in inputs.mounts}
    # A user mount on a default path (e.g. --tmpfs /dev/shm) replaces the default.
    mounts = [m for m in mounts if m["destination"] not in user_dests]
    for i, m in enumerate(mounts):
        if m["destination"] != "/dev/shm":
            continue
        if inputs.shm == "":
            del mounts[i]
        elif inputs.shm:
            mounts[i] = {"destination": "/dev/shm", "type": "bind", "source": inputs.shm,
                         "options": ["rbind", "nosuid", "noexec", "nodev", "rprivate"]}
        elif inputs.shm_size:
            m["options"] = [o for o in m["options"] if not o.startswith("size=")] + [f"size={inputs.shm_size}"]
        break
    for dest, src in inputs.etc_files.items():
        if dest not in user_dests:
            mounts.append({"destination": dest, "type": "bind", "source": src,
                           "options": ["rbind", "rprivate"]})
    mounts.extend(inputs.mounts)
    return mounts


def _sysctls(inputs: SpecInputs) -> dict:
    # As Docker 20.10+: in a network namespace of its own, any user may bind ports
    # below 1024 (a USER www-data web server on :80 just works).
    out = {} if inputs.netns == NETNS_HOST else {"net.ipv4.ip_unprivileged_port_start": "0"}
    out.update(inputs.sysctls)
    return out


def generate(inputs: SpecInputs) -> dict:
    caps = list(inputs.caps)
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
        "rlimits": defaults.default_rlimits() if inputs.rlimits is None else list(inputs.rlimits),
        "noNewPrivileges": inputs.no_new_privileges,
    }
    if inputs.limits.get("oom_score_adj") is not None:
        process["oomScoreAdj"] = inputs.limits["oom_score_adj"]
    linux = {
        "namespaces": _namespaces(inputs),
        "cgroupsPath": inputs.cgroups_path,
        "resources": _resources(inputs),
        "sysctl": _sysctls(inputs),
        # --privileged: nothing of /proc or /sys hidden or read-only, as Docker
        "maskedPaths": [] if inputs.privileged else list(defaults.MASKED_PATHS),
        "readonlyPaths": [] if inputs.privileged else list(defaults.READONLY_PATHS),
    }
    if inputs.devices:
        linux["devices"] = list(inputs.devices)
    seccomp = _seccomp(inputs, caps)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": inputs.rootfs, "readonly": inputs.readonly_rootfs},
        **({} if inputs.join.get("uts") == "host" else {"hostname": inputs.hostname}),
        "mounts": _mounts(inputs),
        "annotations": dict(inputs.annotations),
        "linux": linux,
    }
