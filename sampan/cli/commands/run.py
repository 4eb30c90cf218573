"""`run` and `create`."""

from __future__ import annotations

import argparse
import functools
import os

from sampan.cli.args import Parser, int64, key_values
from sampan.errors import InvalidArgument

PID_HOST_WARNING = ("WARNING: --pid host: the container sees every process of the host, and its root "
                    "(CAP_KILL is a default capability) can signal any of them")
NETWORK_HELP = ("Connect the container to a network: bridge (default), a network's name, "
                "none, host, or container:NAME")


# The resource limits, as `run`/`create` and `update` both take them (argparse dests).
LIMIT_DESTS = ("memory", "memory_swap", "memory_reservation", "cpus", "cpu_shares", "cpuset_cpus",
               "cpuset_mems", "blkio_weight", "pids_limit")
# the limits that reach RunOptions under their own names (engine/cgroup_flags.py checks them)
CFS_DESTS = ("cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "kernel_memory")
# run/create only (Docker's update has none of these)
RUN_CGROUP_DESTS = ("blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops",
                    "device_write_iops", "memory_swappiness", "oom_kill_disable", "oom_score_adj",
                    "cgroup_parent", "cgroupns", "device_cgroup_rules")


def add_limit_flags(a) -> None:
    a("-m", "--memory", help="Memory limit (e.g. 512m, 2g)")
    a("--memory-swap", help="Memory plus swap limit (e.g. 1g); -1 for unlimited swap")
    a("--memory-reservation", help="Memory soft limit (e.g. 256m)")
    a("--cpus", help="Number of CPUs (e.g. 1.5)")
    a("-c", "--cpu-shares", help="CPU shares, relative weight (2-262144; 1024 is the default)")
    a("--cpuset-cpus", help="CPUs the container may use (e.g. 0-1,3)")
    a("--cpuset-mems", help="Memory nodes the container may use (e.g. 0)")
    a("--blkio-weight", help="Block IO relative weight (10-1000)")
    a("--pids-limit", help="Limit the number of processes (-1 for unlimited)")
    a("--cpu-period", help="Limit CPU CFS (Completely Fair Scheduler) period (microseconds)")
    a("--cpu-quota", help="Limit CPU CFS (Completely Fair Scheduler) quota (microseconds)")
    a("--cpu-rt-period", help="Limit CPU real-time period in microseconds (cgroup v1 with RT group scheduling)")
    a("--cpu-rt-runtime", help="Limit CPU real-time runtime in microseconds (cgroup v1 with RT group scheduling)")
    a("--kernel-memory", help="Kernel memory limit (deprecated: accepted and ignored)")


def add_cgroup_flags(a) -> None:
    """run/create's cgroup flags that `update` does not take."""
    a("--blkio-weight-device", action="append", default=[],
      help="Block IO weight (relative device weight): DEVICE:WEIGHT (10-1000)")
    a("--device-read-bps", action="append", default=[], help="Limit read rate from a device: DEVICE:RATE (e.g. 1mb)")
    a("--device-write-bps", action="append", default=[], help="Limit write rate to a device: DEVICE:RATE (e.g. 1mb)")
    a("--device-read-iops", action="append", default=[], help="Limit read rate (IO per second) from a device")
    a("--device-write-iops", action="append", default=[], help="Limit write rate (IO per second) to a device")
    a("--memory-swappiness", help="Tune container memory swappiness (0 to 100; cgroup v1 only)")
    a("--oom-kill-disable", action="store_true", help="Disable OOM Killer (cgroup v1 only)")
    a("--oom-score-adj", help="Tune host's OOM preferences (-1000 to 1000)")
    a("--cgroup-parent", help="Parent cgroup for the container (a relative path)")
    a("--cgroupns", help="Cgroup namespace to use: host or private (default: private on cgroup v2, host on v1)")
    a("--device-cgroup-rule", dest="device_cgroup_rules", action="append", default=[],
      help="Add a rule to the cgroup allowed devices list (e.g. 'c 1:3 rwm')")


STREAMS = ("stdin", "stdout", "stderr")
# Docker's Windows-only flags: its CLI refuses them against a Linux engine (argparse dests)
WINDOWS_ONLY = ("cpu_count", "cpu_percent", "io_maxbandwidth", "io_maxiops")


def add_compat_flags(a, command: str) -> None:
    """-a, --sig-proxy, -q, --annotation, and Docker's flags that have one meaning here."""
    a("-a", "--attach", action="append", default=[], help="Attach to STDIN, STDOUT or STDERR")
    if command == "run":
        # Go's boolean flags: --sig-proxy, --sig-proxy=true, --sig-proxy=false
        a("--sig-proxy", dest="sig_proxy", action="store_true", default=True,
          help="Proxy received signals to the process (default true; --sig-proxy=false to not)")
        a("--sig-proxy=true", dest="sig_proxy", action="store_true", help=argparse.SUPPRESS)
        a("--sig-proxy=false", dest="sig_proxy", action="store_false", help=argparse.SUPPRESS)
    a("-q", "--quiet", action="store_true", help="Suppress the pull output")
    a("--annotation", action="append", default=[],
      help="Add an annotation to the container (passed through to the OCI runtime)")
    a("--disable-content-trust", dest="disable_content_trust", action="store_true",
      help="Accepted for compatibility: sampan does no content trust (images are not verified by signature)")
    for value in ("true", "false"):
        a(f"--disable-content-trust={value}", dest="disable_content_trust", action="store_true",
          help=argparse.SUPPRESS)
    a("--userns", help="User namespace: host only (sampan has no user namespace remapping)")
    a("--isolation", help="Container isolation technology: default only")
    a("--gpus", help="Refused: sampan has no GPU support")
    a("--volume-driver", help="Volume driver for the container: local only")
    a("--storage-opt", action="append", default=[],
      help="Refused: sampan sets no quota on a container's layer (Docker: overlay over xfs only)")
    a("--use-api-socket", action="store_true",
      help="Bind mount the API socket (RUNROOT/sampan.sock of `sampan system service`) at /var/run/docker.sock")
    a("--cpu-count", help="CPU count (Windows only: refused)")
    a("--cpu-percent", help="CPU percent (Windows only: refused)")
    a("--io-maxbandwidth", help="Maximum IO bandwidth limit for the system drive (Windows only: refused)")
    a("--io-maxiops", help="Maximum IOps limit for the system drive (Windows only: refused)")


def attach_streams(ns, command: str) -> set[str]:
    """The streams -a names (Docker: stdout and stderr when none is named; -i adds stdin)."""
    streams = set()
    for s in ns.attach:
        if s.lower() not in STREAMS:
            raise InvalidArgument(f'invalid argument "{s}" for "-a, --attach" flag: valid streams are '
                                  f"STDIN, STDOUT and STDERR\nSee 'sampan {command} --help'.")
        streams.add(s.lower())
    if not ns.attach:
        streams |= {"stdout", "stderr"}
    if ns.interactive:
        streams.add("stdin")
    return streams


def _check_windows_only(ns) -> None:
    for dest in WINDOWS_ONLY:
        if getattr(ns, dest) is not None:
            flag = "--" + dest.replace("_", "-")
            raise InvalidArgument(f'"{flag}" is only supported on a Docker daemon running on windows, '
                                  f"but sampan runs on linux")


@functools.lru_cache(maxsize=2)  # parsing does not change it; the zygote builds it once for all workers
def container_parser(command: str) -> Parser:
    p = Parser(command, "Create and run a new container from an image" if command == "run"
               else "Create a new container")
    a = p.add_argument
    a("-i", "--interactive", action="store_true", help="Keep STDIN open")
    a("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    if command == "run":
        a("-d", "--detach", action="store_true", help="Run in the background and print the container ID")
        a("--detach-keys", help="Override the key sequence for detaching a container (default ctrl-p,ctrl-q)")
    a("--rm", action="store_true", help="Remove the container (and its anonymous volumes) when it exits")
    a("--name", help="Assign a name to the container")
    a("-e", "--env", action="append", default=[], help="Set an environment variable (KEY=VALUE or KEY)")
    a("--env-file", action="append", default=[], help="Read environment variables from a file")
    a("-w", "--workdir", help="Working directory inside the container")
    a("-u", "--user", help="Username or UID, optionally with :group or :GID")
    a("--entrypoint", help="Overwrite the image's ENTRYPOINT")
    a("-h", "--hostname", help="Container host name")
    a("-v", "--volume", action="append", default=[], help="Bind mount a volume: [SRC:]DEST[:ro]")
    a("--tmpfs", action="append", default=[], help="Mount a tmpfs: DEST[:OPTIONS]")
    a("--read-only", action="store_true", help="Mount the container's root filesystem read-only")
    add_limit_flags(a)
    add_cgroup_flags(a)
    a("--network", "--net", default="bridge", help=NETWORK_HELP)
    a("--network-alias", action="append", default=[], help="Add a network-scoped alias for the container")
    a("--dns", action="append", default=[], help="Set custom DNS servers")
    a("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    a("--mac-address", help="Accepted for compatibility; the MAC address is chosen by the bridge")
    a("-p", "--publish", action="append", default=[], help="Publish a container's port to the host")
    a("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    a("-l", "--label", action="append", default=[], help="Set metadata on the container")
    a("--security-opt", action="append", default=[],
      help="Security options: no-new-privileges, seccomp=PROFILE.json, seccomp=unconfined")
    a("--cap-add", action="append", default=[], help="Add Linux capabilities (ALL: all that sampan holds)")
    a("--cap-drop", action="append", default=[], help="Drop Linux capabilities (ALL: every one)")
    a("--privileged", action="store_true",
      help="Give the container every capability, the host's devices, no seccomp: it can reach the host")
    a("--device", action="append", default=[], help="Add a host device: HOST[:CONTAINER][:PERMISSIONS]")
    a("--stop-signal", help="Signal to stop the container")
    a("--stop-timeout", type=int64, help="Seconds to wait for the stop signal before killing")
    a("--runtime", help="OCI runtime for this container: native, runc or crun")
    a("--pull", default="missing", choices=["missing", "always", "never"],
      help="Pull the image before running: missing (default), always or never")
    a("--log-opt", action="append", default=[], help="Log options: max-size=10m, max-file=3")
    a("--restart", default="no", help="Restart policy when the container exits: no, on-failure[:N], "
      "always, unless-stopped")
    a("--health-cmd", help="Command to run to check health")
    a("--health-interval", help="Time between running the check (ms|s|m|h) (default 0s)")
    a("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
    a("--health-retries", type=int64, help="Consecutive failures needed to report unhealthy")
    a("--health-start-period", help="Start period for the container to initialize before starting "
      "health-retries countdown (ms|s|m|h) (default 0s)")
    a("--health-start-interval", help="Time between running the check during the start period "
      "(ms|s|m|h) (default 0s)")
    a("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    a("--log-driver", help="Logging driver: json-file (default), local, or none (no `logs`)")
    a("--mount", action="append", default=[],
      help="Attach a filesystem mount: type=bind|volume|tmpfs,source=...,target=...[,readonly]")
    a("--init", action="store_true", help="Run an init (tini) as PID 1 that forwards signals and reaps zombies")
    a("--ulimit", action="append", default=[], help="Ulimit options: NAME=SOFT[:HARD], e.g. nofile=1024:2048")
    a("--shm-size", help="Size of /dev/shm (e.g. 128m; default 64m)")
    a("--sysctl", action="append", default=[],
      help="Namespaced kernel parameter: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*")
    a("--pid", help="PID namespace: host (sees every host process, as --privileged) or container:NAME")
    a("--ipc", help="IPC namespace: private (default), shareable, none, host or container:NAME")
    a("--uts", help="UTS namespace: host to share the host's host name")
    a("--cidfile", help="Write the container ID to the file (which must not exist)")
    a("--group-add", action="append", default=[], help="Add supplementary groups (name or GID)")
    a("--platform", help="Platform of the image: os[/arch[/variant]] (this host's)")
    a("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    a("--dns-option", action="append", default=[], help="Set DNS options (e.g. ndots:2)")
    a("--ip", help="IPv4 address on a user network (e.g. 172.30.100.104)")
    a("--label-file", action="append", default=[], help="Read labels from a file of KEY=VALUE lines")
    a("--volumes-from", action="append", default=[],
      help="Mount the volumes and bind mounts of a container: CONTAINER[:ro|rw]")
    a("--expose", action="append", default=[], help="Expose a port or a range of ports: PORT[-PORT][/PROTO]")
    a("--domainname", help="Container NIS domain name")
    a("--link", action="append", default=[], help="Add link to another container: NAME[:ALIAS]")
    add_compat_flags(a, command)
    a("image", help="Image to run")
    a("args", nargs=argparse.REMAINDER, help="Command and arguments")
    return p


def run_options(ns):
    from sampan.engine import RunOptions
    from sampan.cli.security_opts import inline_seccomp_files
    from sampan.specgen.command import parse_env_option, read_env_file

    env: list[str] = []
    for f in ns.env_file:
        env += read_env_file(f, os.environ.get)
    for e in ns.env:
        item = parse_env_option(e, os.environ.get)
        if item is not None:
            env.append(item)
    log = key_values(ns.log_opt, "--log-opt")
    unknown = set(log) - {"max-size", "max-file"}
    if unknown:
        raise InvalidArgument(f"unknown --log-opt {sorted(unknown)[0]!r}: use max-size or max-file")
    max_files = None
    if "max-file" in log:
        from sampan.specgen.units import parse_int
        max_files = parse_int(log["max-file"], "--log-opt max-file", 1)
    labels: dict[str, str] = {}
    for f in ns.label_file:
        labels.update(_read_label_file(f))
    labels.update(key_values(ns.label, "label"))
    return RunOptions(
        image=ns.image, args=list(ns.args), name=ns.name, env=env, workdir=ns.workdir, user=ns.user,
        entrypoint=ns.entrypoint, hostname=ns.hostname, volumes=ns.volume, tmpfs=ns.tmpfs,
        read_only=ns.read_only, memory=ns.memory, cpus=ns.cpus, pids_limit=ns.pids_limit,
        memory_swap=ns.memory_swap, memory_reservation=ns.memory_reservation, cpu_shares=ns.cpu_shares,
        cpuset_cpus=ns.cpuset_cpus, cpuset_mems=ns.cpuset_mems, blkio_weight=ns.blkio_weight,
        network=ns.network, network_aliases=ns.network_alias, dns=ns.dns, add_hosts=ns.add_host,
        mac_address=ns.mac_address, publish=ns.publish, publish_all=ns.publish_all, tty=ns.tty,
        interactive=ns.interactive, auto_remove=ns.rm, labels=labels,
        security_opt=inline_seccomp_files(ns.security_opt), cap_add=ns.cap_add, cap_drop=ns.cap_drop,
        privileged=ns.privileged, devices=ns.device,
        stop_signal=ns.stop_signal, stop_timeout=ns.stop_timeout, runtime=ns.runtime,
        log_max_size=log.get("max-size"), log_max_files=max_files, pull=ns.pull,
        restart=None if ns.restart == "no" else ns.restart, healthcheck=_healthcheck(ns),
        mounts=ns.mount, init=ns.init, ulimits=ns.ulimit, shm_size=ns.shm_size,
        sysctls=ns.sysctl, pid_mode=ns.pid, ipc_mode=ns.ipc, uts_mode=ns.uts, group_add=ns.group_add,
        platform=ns.platform, dns_search=ns.dns_search, dns_options=ns.dns_option, ip=ns.ip,
        log_driver=ns.log_driver, volumes_from=ns.volumes_from,
        expose=ns.expose, domainname=ns.domainname, links=ns.link, annotations=key_values(ns.annotation, "annotation"), quiet=ns.quiet,
        userns_mode=ns.userns, isolation=ns.isolation, gpus=ns.gpus, volume_driver=ns.volume_driver,
        storage_opt=ns.storage_opt, use_api_socket=ns.use_api_socket,
        **{k: getattr(ns, k) for k in CFS_DESTS + RUN_CGROUP_DESTS})


def _healthcheck(ns):
    """Docker's HealthConfig from the --health-* flags; None when none is given."""
    flags = (ns.health_cmd or None, ns.health_interval, ns.health_timeout, ns.health_retries,
             ns.health_start_period, ns.health_start_interval)
    if not ns.no_healthcheck and all(f is None for f in flags):
        return None
    if ns.no_healthcheck:
        if any(f is not None for f in flags):
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    # durations stay as typed: the engine reads them as Go durations ("1m30s") and says which flag
    names = ("Interval", "Timeout", "Retries", "StartPeriod", "StartInterval")
    config = {k: v for k, v in zip(names, flags[1:]) if v is not None}
    if ns.health_cmd:  # as Docker's CLI: an empty one is none
        config["Test"] = ["CMD-SHELL", ns.health_cmd]
    return config


def _read_label_file(path: str) -> dict[str, str]:
    """--label-file: KEY=VALUE lines (a KEY alone: an empty value), # comments, as Docker."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"cannot read --label-file {path}: {getattr(e, 'strerror', None) or e}") from None
    out = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not key.strip():
            raise InvalidArgument(f"invalid label {line[:60]!r} in {path}: expected KEY=VALUE")
        out[key] = value
    return out


def _check_cidfile(path: str | None) -> None:
    if path and os.path.lexists(path):
        raise InvalidArgument(f"container ID file found, make sure the other container isn't running or "
                              f"delete {path}")


def _write_cidfile(path: str | None, cid: str) -> None:
    """Written as soon as the container exists (Docker: before it starts), never over a file."""
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise InvalidArgument(f"failed to create the container ID file {path}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(cid)


def _warn_privileged(ns) -> None:
    import sys
    if ns.privileged:
        sys.stderr.write("WARNING: --privileged: the container has every capability, the host's devices "
                         "and no seccomp filter; it can take over the host\n")
    if ns.pid == "host" and not ns.privileged:
        sys.stderr.write(PID_HOST_WARNING + "\n")


def main(command: str, argv: list[str], g) -> int:
    ns = container_parser(command).parse_args(argv)
    _check_windows_only(ns)
    streams = attach_streams(ns, command)
    opts = run_options(ns)
    opts.attach = [] if getattr(ns, "detach", False) else sorted(streams)
    if ns.tty and os.isatty(0):
        opts.console_size = tuple(reversed(os.get_terminal_size(0)))  # (rows, cols)
    detach = getattr(ns, "detach", False)
    if detach and ns.attach:
        raise InvalidArgument("conflicting options: cannot specify both --attach and --detach")
    if command == "run" and ns.tty and ns.interactive and not detach and not os.isatty(0):
        raise InvalidArgument("the input device is not a TTY: drop -t, or run from a terminal")
    _check_cidfile(ns.cidfile)
    engine = g.engine()
    if command == "create":
        rec = engine.create(opts)
        _write_cidfile(ns.cidfile, rec.id)
        _warn_privileged(ns)
        print(rec.id)
        return 0
    if detach:
        rec, _ = engine.run(opts, detach=True)
        _write_cidfile(ns.cidfile, rec.id)
        _warn_privileged(ns)
        print(rec.id)
        return 0
    from sampan.cli.attach_client import Detached, attach_session
    from sampan.cli.detach_keys import parse
    keys = parse(ns.detach_keys)
    rec, started = engine.run(opts, detach=False)
    _write_cidfile(ns.cidfile, rec.id)
    _warn_privileged(ns)
    try:
        return attach_session(started.conn, tty=ns.tty, stdin=ns.interactive,
                              on_lost=lambda: engine.monitor_lost(rec.id), detach_keys=keys,
                              sig_proxy=ns.sig_proxy, streams=streams)
    except Detached:
        return 0  # as Docker: the container runs on
