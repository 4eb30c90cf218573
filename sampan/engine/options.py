"""What the CLI (or API server) asks of the engine: plain data, validated by the engine.

Plain classes, not dataclasses: `run` imports this on every start, and a
dataclass costs about a millisecond to define here. Each option is a class attribute
with its type and default (a mutable default is copied for each instance); a keyword
that names no option is a TypeError.
"""

from __future__ import annotations

import copy

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from typing import Any, Callable, ClassVar


class _Options:
    _FIELDS: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls) -> None:
        fields = dict(cls._FIELDS)
        for name in cls.__dict__.get("__annotations__", {}):
            if not name.startswith("_"):
                fields[name] = cls.__dict__[name]
        cls._FIELDS = fields

    def __init__(self, **kw: Any) -> None:
        unknown = set(kw) - set(self._FIELDS)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}")
        for key, default in self._FIELDS.items():
            setattr(self, key, kw[key] if key in kw else copy.copy(default))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self._FIELDS)})"


class ListOptions(_Options):
    """ps, images, volume ls, network ls. ``filters``: "key=value" strings (the CLI's -f) or
    Docker's filter map {"key": ["value", ...]} (the API's); engine/filters.py parses both.
    ``all``: stopped containers too (ps), intermediate images too (images). ``limit``: the
    newest N containers (ps -n), -1 for all. ``size``: each container's writable layer and
    virtual size too (ps -s; it walks every upper dir); each image's shared size (system df -v)."""
    all: bool = False
    filters: list[str] | dict[str, list[str]] | None = None
    limit: int = -1
    size: bool = False


class RemoveOptions(_Options):
    """rm, rmi, volume rm. ``volumes``: rm also removes the container's anonymous volumes."""
    force: bool = False
    volumes: bool = False


class PruneOptions(_Options):
    """container/image/volume/network/system prune. ``all``: tagged images too (image prune),
    named volumes too (volume prune); ``volumes``: system prune also prunes volumes;
    ``filters``: Docker's prune filters, a "key=value" list or the API's map
    (engine/prune_filters.py: until=, label=, label!=, and volumes' all=)."""
    all: bool = False
    volumes: bool = False
    filters: Any = None


class VolumeCreateOptions(_Options):
    name: str | None = None
    driver: str = "local"
    labels: dict[str, str] = {}


class NetworkCreateOptions(_Options):
    name: str = ""
    driver: str = "bridge"
    subnet: str | None = None
    gateway: str | None = None
    internal: bool = False
    labels: dict[str, str] = {}


class RunOptions(_Options):
    image: str = ""
    args: list[str] = []
    name: str | None = None
    env: list[str] = []                 # KEY=VALUE, already resolved
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | list[str] | None = None   # None: image's; "": cleared; a list from the API
    hostname: str | None = None
    volumes: list[str] = []             # -v specs
    tmpfs: list[str] = []               # --tmpfs specs
    read_only: bool = False
    memory: str | None = None           # the limits: strings as given
    cpus: str | None = None
    pids_limit: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    cpu_shares: str | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    blkio_weight: str | None = None
    network: str = "bridge"
    network_aliases: list[str] = []
    dns: list[str] = []
    add_hosts: list[str] = []
    mac_address: str | None = None
    publish: list[str] = []
    publish_all: bool = False
    tty: bool = False
    interactive: bool = False
    auto_remove: bool = False
    labels: dict[str, str] = {}
    security_opt: list[str] = []
    cap_add: list[str] = []
    cap_drop: list[str] = []
    privileged: bool = False
    devices: list[str] = []             # --device HOST[:CONTAINER][:rwm]
    stop_signal: str | None = None
    stop_timeout: int | None = None
    runtime: str | None = None
    log_max_size: str | None = None
    log_max_files: int | None = None
    pull: str = "missing"               # missing | always | never, as `docker run --pull`
    console_size: tuple[int, int] | list[int] | None = None  # (rows, cols) of the terminal, set before the program starts
    restart: str | dict | None = None   # --restart spec ("on-failure:3") or Docker's RestartPolicy dict
    healthcheck: dict | None = None     # Docker's HealthConfig dict (Test, Interval... in ns); None: the image's
    # --mount: "type=bind,src=...,dst=..." strings (the CLI) or Docker's Mount objects (the API)
    mounts: list[str | dict] = []
    init: bool = False                  # tini as PID 1
    ulimits: list[str | dict] = []      # "nofile=1024:2048" strings or {"Name", "Soft", "Hard"} objects
    shm_size: str | int | None = None   # string as given ("64m") or bytes
    sysctls: dict[str, str] = {}
    pid_mode: str | None = None         # host | container:NAME | private | shareable
    ipc_mode: str | None = None
    uts_mode: str | None = None
    group_add: list[str] = []
    dns_search: list[str] = []
    dns_options: list[str] = []
    platform: str | None = None
    ip: str | None = None
    log_driver: str | None = None       # json-file (default) | local | none
    # cgroup and OOM flags (engine/cgroup_flags.py): strings from the CLI, numbers from the API
    cpu_period: str | int | None = None
    cpu_quota: str | int | None = None
    cpu_rt_period: str | int | None = None
    cpu_rt_runtime: str | int | None = None
    kernel_memory: str | int | None = None  # accepted and ignored, as Docker 28
    blkio_weight_device: list[str | dict] = []  # "DEVICE:WEIGHT" or {"Path", "Weight"}
    device_read_bps: list[str | dict] = []      # "DEVICE:RATE" or {"Path", "Rate"}
    device_write_bps: list[str | dict] = []
    device_read_iops: list[str | dict] = []
    device_write_iops: list[str | dict] = []
    memory_swappiness: str | int | None = None
    oom_kill_disable: bool = False
    oom_score_adj: str | int | None = None
    cgroup_parent: str | None = None
    cgroupns: str | None = None          # host | private (None: Docker's default for the host)
    device_cgroup_rules: list[str] = []  # "c 1:3 rwm"
    volumes_from: list[str] = []        # CONTAINER[:ro|rw]
    expose: list[str] = []              # PORT[/PROTO] or FIRST-LAST[/PROTO]
    domainname: str | None = None
    links: list[str] = []               # NAME[:ALIAS]
    # engine/create_compat.py: --annotation, -q, and Docker's flags with a single meaning here
    annotations: dict[str, str] = {}    # passed to the OCI runtime's config.json
    quiet: bool = False                 # no pull progress (run/create -q)
    userns_mode: str | None = None      # "" or host: sampan has no user namespace remapping
    isolation: str | None = None        # "" or default
    gpus: str | None = None             # refused: no GPU support
    volume_driver: str | None = None    # "" or local
    storage_opt: list[str] | dict[str, str] = []  # refused: no layer quotas
    use_api_socket: bool = False        # bind RUNROOT/sampan.sock at /var/run/docker.sock
    attach: list[str] | None = None     # streams a client attaches (stdin|stdout|stderr), for inspect
    # where create's warnings go (a setting discarded, as Docker's daemon warns): the API puts
    # them in its answer's Warnings; None: stderr, as Docker's CLI prints them
    on_warning: Callable[[str], None] | None = None

    def __init__(self, image: str, **kw: Any) -> None:
        super().__init__(image=image, **kw)

    def warn(self, line: str) -> None:
        if self.on_warning is not None:
            self.on_warning(line)
        else:
            import sys
            sys.stderr.write(f"WARNING: {line}\n")


class UpdateOptions(_Options):
    """`update`: new limits, strings as on the command line; None leaves one as it is."""
    memory: str | None = None
    memory_swap: str | None = None
    memory_reservation: str | None = None
    cpus: str | None = None
    cpu_shares: str | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    blkio_weight: str | None = None
    pids_limit: str | None = None
    cpu_period: str | None = None
    cpu_quota: str | None = None
    cpu_rt_period: str | None = None
    cpu_rt_runtime: str | None = None
    kernel_memory: str | None = None


class ExecOptions(_Options):
    container: str = ""
    argv: list[str] = []
    env: list[str] = []
    user: str | None = None
    workdir: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    privileged: bool = False

    def __init__(self, container: str, argv: list[str], **kw: Any) -> None:
        super().__init__(container=container, argv=argv, **kw)


class ArchiveBuildOptions(_Options):
    """A build whose context comes as a tar (the API's POST /build): ``dockerfile`` is a
    path inside the context."""
    dockerfile: str = "Dockerfile"
    tags: list[str] = []
    build_args: dict[str, str] = {}
    target: str | None = None
    no_cache: bool = False
    pull: str = "missing"
    labels: dict[str, str] = {}
    quiet: bool = False
    auths: dict[str, tuple[str, str]] = {}  # {registry: (user, password)} for base images (X-Registry-Config)
    remote: str | None = None  # a git URL instead of the tar body
    cache_from: list[str] = []
