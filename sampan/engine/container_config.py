"""The shape of a container's recorded config (`ContainerRecord.config`): what `create`
resolved from the options and the image, stored as JSON in the record and read at every
start (bundle.py), by inspect (views.py), commit, exec and the network code.

For type checkers only (TypedDicts): the record stays a plain dict at run time, so a
record written by an older sampan (without the newer keys: `total=False` there, read
with .get) loads as it always did, and nothing here is imported on the run path.
"""

from __future__ import annotations

from typing import Any, TypedDict


class ExecUserJson(TypedDict):
    uid: int
    gid: int
    additional_gids: list[int]
    home: str


class MountJson(TypedDict):  # engine.mounts.MountPlan.to_json()
    kind: str                    # volume | bind | tmpfs
    destination: str
    source: str                  # volume name or host path
    readonly: bool
    options: list[str]


class LogJson(TypedDict):
    max_size: int
    max_files: int


class NetJson(TypedDict):  # written by networking.connect at each start
    ip: str
    prefix: int
    gateway: str
    mac: str
    ports: list[list[Any]]       # network.types.PortMapping fields
    netns: str


class ResourceLimits(TypedDict):  # bundle.LIMIT_KEYS; None: not given
    memory_swap: int | None
    memory_reservation: int | None
    cpu_shares: int | None
    cpuset_cpus: str | None
    cpuset_mems: str | None
    blkio_weight: int | None


class _Required(ResourceLimits):
    argv: list[str]
    user_env: list[str]
    image_env: list[str]
    workdir: str
    user: str
    exec_user: ExecUserJson
    hostname: str
    tty: bool
    open_stdin: bool
    console_size: list[int] | None     # [rows, cols] of the terminal at start (-t only)
    mounts: list[MountJson]
    read_only: bool
    memory: int | None
    cpu_quota: int | None
    cpus: str | None
    pids_limit: int | None
    network: str                 # bridge (or a network's name) | none | host | container:ID
    ports: list[list[Any]]
    aliases: list[str]
    dns: list[str]
    add_hosts: list[list[str]]   # [host, ip]
    auto_remove: bool
    labels: dict[str, str]
    no_new_privileges: bool
    seccomp: str | dict[str, Any] | None   # None: the default profile; "unconfined"
    security_opt: list[str]
    cap_add: list[str]
    cap_drop: list[str]
    privileged: bool
    devices: list[dict[str, str]]      # Docker's DeviceMapping records (security.parse_devices)
    stop_signal: str
    stop_timeout: int | None
    runtime: str
    log: LogJson
    entrypoint_override: str | list[str] | None
    args: list[str]
    image_config: dict[str, Any]  # the image's config (OCI ImageConfig), for inspect and commit


class ContainerConfig(_Required, total=False):
    net: NetJson                             # once started on a network
    more_networks: dict[str, list[str]]      # `network connect`ed while stopped: name -> aliases
    more_ips: dict[str, str]                 # `network connect --ip`: name -> fixed address
    restart_policy: dict[str, Any]           # Docker's RestartPolicy (engine/restart_policy.py), when given
    healthcheck: dict[str, Any]              # Docker's HealthConfig, the option's or the image's
    # the run flags of engine/create_flags.py (flags.check) and networking.plan
    ip: str | None                           # --ip on a user network
    mount_specs: list[dict[str, Any]]        # --mount as Docker's Mount objects, for inspect
    init: bool                               # tini as PID 1 (bundle.INIT_PATH)
    ulimits: list[dict[str, Any]]            # Docker's Ulimit records {"Name", "Soft", "Hard"}
    shm_size: int | None                     # bytes; None: the default
    sysctls: dict[str, str]
    pid_mode: str                            # "" (own) | host | private | shareable | none | container:<id>
    ipc_mode: str
    uts_mode: str
    group_add: list[str]
    dns_search: list[str]
    dns_options: list[str]
    log_driver: str                          # json-file | local | none
    platform: str | None                     # os/arch[/variant] asked by --platform
    # engine/cgroup_flags.py (absent: not given)
    cpu_period: int                          # CFS period, µs
    cpu_cfs_quota: int                       # CFS quota, µs (--cpu-quota; -1 unlimited)
    cpu_rt_period: int
    cpu_rt_runtime: int
    blkio_weight_device: list[dict[str, Any]]  # {"Path", "Weight", "Major", "Minor"}
    blkio_read_bps: list[dict[str, Any]]     # {"Path", "Rate", "Major", "Minor"}
    blkio_write_bps: list[dict[str, Any]]
    blkio_read_iops: list[dict[str, Any]]
    blkio_write_iops: list[dict[str, Any]]
    memory_swappiness: int
    oom_kill_disable: bool
    oom_score_adj: int
    device_cgroup_rules: list[str]           # "c 1:3 rwm"
    cgroup_parent: str | None                # relative cgroupfs path; None: sampan's own
    cgroupns: str                            # host | private
    volumes_from: list[str]                  # --volumes-from as given (its mounts are in mounts)
    volumes_from_targets: list[str]          # the destinations those mounts took
    exposed: list[str]                       # --expose as Docker's "80/tcp" keys
    domainname: str                          # --domainname (UTS domain name)
    links: list[list[str]]                   # --link: [linked container id, alias]
    link_env: list[str]                      # their variables, found at start (not stored)
    net_links: dict[str, list[list[str]]]    # `network connect --link`: network -> [[id, alias]]
    # engine/create_compat.py
    annotations: dict[str, str]              # --annotation: HostConfig.Annotations, the spec's annotations
    userns_mode: str                         # "" | host
    isolation: str                           # "" | default
    volume_driver: str                       # "" | local
    attach: list[str]                        # the streams the client attached: stdin, stdout, stderr
