"""What a start writes from the container's record: its /etc files and its OCI bundle.

Made again at every start (engine/runstate.prepare_start), from the database, so they are
written without fsync; `create` only records the config they are made from.
"""

from __future__ import annotations

from sampan.engine import create_flags as flags
from sampan.engine import security
from sampan.engine.context import Context
from sampan.engine.namespaces import namespace_paths
from sampan.engine.records import ContainerRecord
from sampan.runtime.base import cgroups_path
from sampan.specgen.command import merge_env
from sampan.specgen.defaults import default_rlimits
from sampan.specgen.ulimits import oci_rlimits
from sampan.state.atomic import atomic_write_bytes, atomic_write_json

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig

ETC_MODE = 0o644

HOSTS_BASE = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
              "ff02::2\tip6-allrouters\n")

# resource limits kept as config keys of their own, passed to the spec when set
LIMIT_KEYS = ("memory_swap", "memory_reservation", "cpu_shares", "cpuset_cpus", "cpuset_mems", "blkio_weight")
# engine/cgroup_flags.CGROUP_KEYS (not imported: `run` need not load that module), and cgroupns
SPEC_CGROUP_KEYS = ("cpu_period", "cpu_cfs_quota", "cpu_rt_period", "cpu_rt_runtime", "blkio_weight_device",
                    "blkio_read_bps", "blkio_write_bps", "blkio_read_iops", "blkio_write_iops",
                    "memory_swappiness", "oom_kill_disable", "oom_score_adj", "device_cgroup_rules", "cgroupns")


def write_etc_files(files: dict, config: ContainerConfig, more_hosts: str = "") -> None:
    """The container's /etc/hostname, /etc/hosts and /etc/resolv.conf (bind-mounted):
    0644, as the container's non-root users must read them (its private dir keeps the
    host's users out). more_hosts: the lines of its --link containers."""
    hostname = config["hostname"]
    atomic_write_bytes(files["hostname"], (hostname + "\n").encode(), ETC_MODE, durable=False)
    if config["network"] == "host":
        for src, dst in (("/etc/hosts", "hosts"), ("/etc/resolv.conf", "resolv")):
            try:
                data = open(src, "rb").read()
            except OSError:
                data = HOSTS_BASE.encode() if dst == "hosts" else b""
            atomic_write_bytes(files[dst], data, ETC_MODE, durable=False)
        return
    extra = "".join(f"{ip}\t{host}\n" for host, ip in config.get("add_hosts", [])) + more_hosts
    atomic_write_bytes(files["hosts"], (HOSTS_BASE + extra).encode(), ETC_MODE, durable=False)
    # the network package rewrites /etc/hosts as peers come and go; it appends this file
    atomic_write_bytes(files["hosts"].with_name("hosts.extra"), extra.encode(), durable=False)
    from sampan.network.dns import host_resolv_conf, with_search_options
    if config.get("dns"):
        resolv = "".join(f"nameserver {d}\n" for d in config["dns"]).encode()
    else:
        resolv = host_resolv_conf()
    resolv = with_search_options(resolv, config.get("dns_search"), config.get("dns_options"))
    atomic_write_bytes(files["resolv"], resolv, ETC_MODE, durable=False)


def container_spec(ctx: Context, rec: ContainerRecord, netns: str | None = None) -> dict:
    from sampan.engine.mounts import MountPlan, oci_mount
    from sampan.specgen.spec import NETNS_HOST, NETNS_NEW, SpecInputs, generate
    from sampan.specgen.users import ExecUser

    c = rec.config
    files = ctx.container_files(rec.id)
    eu = c["exec_user"]
    user = ExecUser(eu["uid"], eu["gid"], eu["additional_gids"], eu["home"])
    env = merge_env(c["image_env"], c["user_env"], hostname=c["hostname"], tty=c["tty"], home=user.home)
    if c.get("link_env"):  # --link's variables, under the container's own (as Docker)
        own = {e.partition("=")[0] for e in env}
        env += [e for e in c["link_env"] if e.partition("=")[0] not in own]
    mounts = []
    for m in c["mounts"]:
        plan = MountPlan.from_json(m)
        src = plan.source
        if plan.kind == "volume":
            src = str(ctx.paths.volumes / plan.source / "_data")
        mounts.append(oci_mount(plan, src))
    argv = c["argv"]
    if c.get("init"):
        mounts.append({"destination": INIT_PATH, "type": "bind", "source": flags.init_binary(),
                       "options": ["rbind", "ro", "nosuid", "nodev", "rprivate"]})
        argv = [INIT_PATH, "--", *argv]
    devices, device_rules = security.devices_of(c)
    spec = generate(SpecInputs(
        rootfs=str(files["rootfs"]), argv=argv, env=env, cwd=c["workdir"], user=user,
        hostname=c["hostname"], tty=c["tty"], readonly_rootfs=c["read_only"], mounts=mounts,
        etc_files={"/etc/hosts": str(files["hosts"]), "/etc/hostname": str(files["hostname"]),
                   "/etc/resolv.conf": str(files["resolv"])},
        netns=netns or (NETNS_HOST if c["network"] == "host" else NETNS_NEW),
        cgroups_path=cgroups_path(rec.id, c.get("cgroup_parent")), memory=c["memory"], cpu_quota=c["cpu_quota"],
        pids_limit=c["pids_limit"],
        limits={k: v for k, v in c.items() if (k in LIMIT_KEYS or k in SPEC_CGROUP_KEYS) and v is not None},
        no_new_privileges=c["no_new_privileges"],
        caps=security.caps_of(c), seccomp=c.get("seccomp"), privileged=bool(c.get("privileged")),
        devices=devices, device_rules=device_rules,
        annotations={**(c.get("annotations") or {}), "io.sampan.name": rec.name},
        rlimits=oci_rlimits(c.get("ulimits") or [], default_rlimits()), sysctls=c.get("sysctls") or {},
        shm_size=c.get("shm_size"), shm=shm_source(ctx, rec), join=namespace_paths(ctx, c)))
    size = c.get("console_size")
    if size:  # the terminal's size from the start: `stty size` as PID 1 is right
        spec["process"]["consoleSize"] = {"height": size[0], "width": size[1]}
    if c.get("domainname") and "hostname" in spec:  # not in the host's UTS namespace
        spec["domainname"] = c["domainname"]
    return spec


INIT_PATH = "/sbin/docker-init"  # where Docker binds its init (tini) in the container


def shm_source(ctx: Context, rec: ContainerRecord) -> str | None:
    """The container's /dev/shm: None for a tmpfs of its own (the default), "" for none
    (--ipc none), or a host directory: a shareable container's own tmpfs, held on the host
    so that --ipc container:NAME can bind it (Docker's ShmPath), or its donor's."""
    mode = rec.config.get("ipc_mode") or ""
    if mode == "none":
        return ""
    if mode == "shareable":
        return str(ctx.container_files(rec.id)["dir"] / "shm")
    if mode.startswith("container:"):
        donor = mode.split(":", 1)[1]
        other = ctx.containers.get(donor)
        if other is not None and (other.config.get("ipc_mode") or "") == "shareable":
            return str(ctx.container_files(donor)["dir"] / "shm")
    return None


def write_bundle(ctx: Context, rec: ContainerRecord, netns: str | None = None) -> None:
    """The OCI bundle: <root>/containers/<id>/config.json."""
    atomic_write_json(ctx.container_files(rec.id)["config"], container_spec(ctx, rec, netns), durable=False)
