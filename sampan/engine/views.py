"""How containers look to users: Docker's `ps` status text and `inspect` JSON."""

from __future__ import annotations

import time

from sampan.engine import create_compat
from sampan.engine import restart_policy
from sampan.engine.context import Context
from sampan.engine.records import ZERO_TIME, ContainerRecord
from sampan.engine.status import Status, status_of
from sampan.oci.times import human_duration, parse_time
from sampan.specgen.command import entrypoint_argv

from typing import TYPE_CHECKING  # typing is loaded on every path that imports this
if TYPE_CHECKING:
    from sampan.engine.container_config import ContainerConfig


def status_text(rec: ContainerRecord, st: Status, ctx: Context | None = None) -> str:
    now = time.time()
    if st.running:
        up = "Up " + human_duration(now - parse_time(rec.started_at))
        if st.paused:
            return up + " (Paused)"
        if ctx is not None and "healthcheck" in rec.config:
            from sampan.engine.health_state import ps_suffix
            return up + ps_suffix(ctx, rec)
        return up
    if not st.exited and not st.restarting:
        return "Created"
    finished = parse_time(rec.finished_at)
    ago = human_duration(now - finished) + " ago" if finished else ""
    if st.restarting:
        return f"Restarting ({st.exit_code}) {ago}".rstrip()
    return f"Exited ({st.exit_code}) {ago}".rstrip()


def command_text(rec: ContainerRecord) -> str:
    return " ".join(rec.config.get("argv") or [])


def mount_points(ctx: Context, c: ContainerConfig) -> list[dict]:
    """A container's mounts as Docker's MountPoint list (inspect's and ps's `Mounts`)."""
    mounts = []
    for m in c["mounts"]:
        if m["kind"] == "volume":
            mounts.append({"Type": "volume", "Name": m["source"],
                           "Source": str(ctx.paths.volumes / m["source"] / "_data"),
                           "Destination": m["destination"], "Driver": "local", "Mode": "z",
                           "RW": not m["readonly"], "Propagation": ""})
        elif m["kind"] == "bind":
            mounts.append({"Type": "bind", "Source": m["source"], "Destination": m["destination"],
                           "Mode": "", "RW": not m["readonly"], "Propagation": "rprivate"})
        else:
            mounts.append({"Type": "tmpfs", "Source": "", "Destination": m["destination"],
                           "Mode": ",".join(m["options"]), "RW": not m["readonly"], "Propagation": ""})
    return mounts


def inspect_container(ctx: Context, rec: ContainerRecord) -> dict:
    st = status_of(rec)
    c = rec.config
    files = ctx.container_files(rec.id)
    mounts = mount_points(ctx, c)
    argv = c.get("argv") or []
    icfg = c.get("image_config") or {}
    override = entrypoint_argv(c.get("entrypoint_override"))
    entry = icfg.get("Entrypoint") if override is None else (override or None)
    cmd = c.get("args") or (icfg.get("Cmd") if c.get("entrypoint_override") is None else None)
    state = {
        # as Docker's: a container waiting out its restart delay is Running and Restarting
        "Status": st.docker_state, "Running": (st.running or st.restarting), "Paused": st.paused,
        "Restarting": st.restarting,
        "OOMKilled": bool(rec.oom_killed), "Dead": False,
        "Pid": rec.pid if st.running else 0, "ExitCode": st.exit_code,
        "Error": rec.error or ("monitor process died; the exit code is unknown" if st.lost else ""),
        "StartedAt": rec.started_at or ZERO_TIME, "FinishedAt": rec.finished_at or ZERO_TIME,
    }
    if "healthcheck" in c:
        from sampan.engine.health_state import inspect_health
        health = inspect_health(ctx, rec)
        if health is not None:
            state["Health"] = health
    from sampan.specgen.command import merge_env
    env = merge_env(c["image_env"], c["user_env"], hostname=c["hostname"], tty=c["tty"], home=None)
    out: dict = {
        "Id": rec.id, "Created": rec.created, "Path": argv[0] if argv else "", "Args": argv[1:],
        "State": state, "Image": rec.image_id, "ResolvConfPath": str(files["resolv"]),
        "HostnamePath": str(files["hostname"]), "HostsPath": str(files["hosts"]),
        "LogPath": str(files["log"]), "Name": "/" + rec.name, "RestartCount": rec.restart_count,
        "Driver": "overlay", "Platform": "linux",
        "HostConfig": {
            "Binds": [f"{m['source']}:{m['destination']}{':ro' if m['readonly'] else ''}"
                      for m in c["mounts"] if m["kind"] != "tmpfs" and m["source"]
                      and m["destination"] not in _mount_flag_targets(c)] or None,
            "NetworkMode": c["network"], "PortBindings": port_bindings(c),
            "AutoRemove": bool(c["auto_remove"]),
            "RestartPolicy": restart_policy.docker_shape(c.get("restart_policy")),
            "ReadonlyRootfs": bool(c["read_only"]), "Memory": c.get("memory") or 0,
            "NanoCpus": int(float(c["cpus"] or 0) * 1e9),
            "MemorySwap": _memory_swap(c), "MemoryReservation": c.get("memory_reservation") or 0,
            "CpuShares": c.get("cpu_shares") or 0, "CpusetCpus": c.get("cpuset_cpus") or "",
            "CpusetMems": c.get("cpuset_mems") or "", "BlkioWeight": c.get("blkio_weight") or 0,
            "PidsLimit": c.get("pids_limit"), "CapAdd": c.get("cap_add") or None,
            "CapDrop": c.get("cap_drop") or None,
            "SecurityOpt": c.get("security_opt", ["no-new-privileges"] if c.get("no_new_privileges") else None)
            or None,
            "Privileged": bool(c.get("privileged")), "Devices": list(c.get("devices") or []),
            "Runtime": c.get("runtime"),
            "Tmpfs": {m["destination"]: ",".join(m["options"]) for m in c["mounts"] if m["kind"] == "tmpfs"} or None,
            "LogConfig": _log_config(c),
            "Links": _links(ctx, rec, on_default=True),
            **_more_host_config(c), **_cgroup_host_config(c),
            **create_compat.host_config(c),
        },
        "GraphDriver": {"Name": "overlay", "Data": {"UpperDir": str(files["upper"]),
                                                    "WorkDir": str(files["work"]),
                                                    "MergedDir": str(files["rootfs"])}},
        "Mounts": mounts,
        "Config": {
            "Hostname": c["hostname"], "User": c.get("user") or "", "Tty": bool(c["tty"]),
            "OpenStdin": bool(c["open_stdin"]), "Env": env, "Cmd": cmd, "Image": rec.image_ref,
            "Volumes": {m["destination"]: {} for m in c["mounts"] if m["kind"] == "volume"} or None,
            "WorkingDir": c["workdir"], "Entrypoint": entry, "Labels": c.get("labels") or {},
            "StopSignal": c.get("stop_signal"), "StopTimeout": c.get("stop_timeout"),
            "ExposedPorts": exposed_ports(c, icfg), "Domainname": c.get("domainname") or "",
            **({"Healthcheck": c["healthcheck"]} if "healthcheck" in c else {}),
            **create_compat.config_fields(c),
        },
        "NetworkSettings": network_settings(c, st.running, _connected(ctx, rec, st.running)),
    }
    endpoints = out["NetworkSettings"]["Networks"]
    user_links = _links(ctx, rec, on_default=False)
    if user_links:  # on a user network Docker keeps them with the endpoint, as "name:alias"
        next(iter(endpoints.values()))["Links"] = user_links
    for network, pairs in (c.get("net_links") or {}).items():  # `network connect --link`
        names = [f"{child.name}:{alias}" for cid, alias in pairs if (child := ctx.containers.get(cid))]
        if network in endpoints and names:
            endpoints[network]["Links"] = [*(endpoints[network].get("Links") or []), *names]
    return out


def _links(ctx: Context, rec: ContainerRecord, on_default: bool) -> list[str] | None:
    """--link as Docker shows it: "/db:/web/alias" in HostConfig.Links on the default bridge,
    "db:alias" with the endpoint on a user network. A removed container is left out."""
    pairs = rec.config.get("links") or []
    if not pairs or (rec.config["network"] == "bridge") != on_default:
        return None
    out = []
    for cid, alias in pairs:
        child = ctx.containers.get(cid)
        if child is not None:
            out.append(f"/{child.name}:/{rec.name}/{alias}" if on_default else f"{child.name}:{alias}")
    return out or None


def _mount_flag_targets(c: ContainerConfig) -> set:
    """Where --mount (HostConfig.Mounts) put something: Docker lists those in Mounts, not Binds."""
    import os
    return ({os.path.normpath(m["Target"]) for m in c.get("mount_specs") or []}
            | set(c.get("volumes_from_targets") or ()))  # --volumes-from: VolumesFrom, not Binds


def _log_config(c: ContainerConfig) -> dict:
    driver = c.get("log_driver") or "json-file"
    if driver == "none":
        return {"Type": "none", "Config": {}}
    return {"Type": driver, "Config": {"max-size": str(c["log"]["max_size"]),
                                       "max-file": str(c["log"]["max_files"])}}


def _cgroup_host_config(c: ContainerConfig) -> dict:
    """HostConfig fields of engine/cgroup_flags.py, with Docker's names and defaults."""
    def devices(key: str, value: str) -> list[dict]:
        found: list[dict] = c.get(key) or []  # type: ignore[assignment]  # one of the blkio_* lists
        return [{"Path": d["Path"], value: d[value]} for d in found]
    return {
        "CpuPeriod": c.get("cpu_period") or 0, "CpuQuota": c.get("cpu_cfs_quota") or 0,
        "CpuRealtimePeriod": c.get("cpu_rt_period") or 0, "CpuRealtimeRuntime": c.get("cpu_rt_runtime") or 0,
        "BlkioWeightDevice": devices("blkio_weight_device", "Weight"),
        "BlkioDeviceReadBps": devices("blkio_read_bps", "Rate"),
        "BlkioDeviceWriteBps": devices("blkio_write_bps", "Rate"),
        "BlkioDeviceReadIOps": devices("blkio_read_iops", "Rate"),
        "BlkioDeviceWriteIOps": devices("blkio_write_iops", "Rate"),
        "MemorySwappiness": c.get("memory_swappiness"), "OomKillDisable": bool(c.get("oom_kill_disable")),
        "OomScoreAdj": c.get("oom_score_adj") or 0, "CgroupParent": c.get("cgroup_parent") or "",
        "CgroupnsMode": c.get("cgroupns") or "private",  # sampan's default on v1 as on v2
        "DeviceCgroupRules": list(c["device_cgroup_rules"]) if c.get("device_cgroup_rules") else None,
    }


def _more_host_config(c: ContainerConfig) -> dict:
    """HostConfig fields of the run flags in engine/create_flags.py and namespaces.py, named
    and shaped as Docker's (its defaults where the flag was not given)."""
    from sampan.engine.create_flags import DEFAULT_SHM
    ipc = c.get("ipc_mode") or "private"
    return {
        "Init": True if c.get("init") else None,
        "Ulimits": [dict(u) for u in c.get("ulimits") or []] or None,
        "ShmSize": c.get("shm_size") or DEFAULT_SHM,
        "Sysctls": dict(c["sysctls"]) if c.get("sysctls") else None,
        "PidMode": c.get("pid_mode") or "", "IpcMode": ipc, "UTSMode": c.get("uts_mode") or "",
        "GroupAdd": list(c["group_add"]) if c.get("group_add") else None,
        "Dns": list(c.get("dns") or []), "DnsSearch": list(c.get("dns_search") or []),
        "DnsOptions": list(c.get("dns_options") or []),
        "Mounts": [dict(m) for m in c["mount_specs"]] if c.get("mount_specs") else None,
        "VolumesFrom": list(c["volumes_from"]) if c.get("volumes_from") else None,
    }


def port_bindings(c: ContainerConfig) -> dict:
    """The ports asked for at create (HostPort "" when the host port is picked at start)."""
    out: dict = {}
    for cport, hport, hip, proto in c.get("ports") or []:
        out.setdefault(f"{cport}/{proto}", []).append({"HostIp": hip or "", "HostPort": str(hport) if hport else ""})
    return out


def exposed_ports(c: ContainerConfig, icfg: dict) -> dict | None:
    """The image's exposed ports and the published ones, as Docker merges them."""
    out = dict(icfg.get("ExposedPorts") or {})
    out.update(dict.fromkeys(c.get("exposed") or (), {}))  # --expose
    for cport, _, _, proto in c.get("ports") or []:
        out.setdefault(f"{cport}/{proto}", {})
    return out or None


def _connected(ctx: Context, rec: ContainerRecord, running: bool) -> dict:
    """The attachments of a running container's `network connect`ed networks, by network."""
    if not running or not rec.config.get("more_networks"):
        return {}
    from sampan.engine.networking import nm
    return {a.network: a for a in nm(ctx).attachments(rec.id)}


def network_settings(c: ContainerConfig, running: bool, connected: dict | None = None) -> dict:
    net: dict = dict(c.get("net") or {}) if running else {}
    ports: dict = {}
    for cport, hport, hip, proto in net.get("ports", []):
        ports.setdefault(f"{cport}/{proto}", []).append({"HostIp": hip or "0.0.0.0", "HostPort": str(hport)})
    if running and net:  # exposed but not published: listed without a binding, as Docker's
        for key in exposed_ports(c, c.get("image_config") or {}) or {}:
            ports.setdefault(key, None)
    name = c["network"].split(":", 1)[0] if c["network"].startswith("container:") else c["network"]
    endpoint = {"IPAddress": net.get("ip", ""), "IPPrefixLen": net.get("prefix", 0),
                "Gateway": net.get("gateway", ""), "MacAddress": net.get("mac", ""),
                "Aliases": c.get("aliases") or None,
                "IPAMConfig": {"IPv4Address": c["ip"]} if c.get("ip") else None}
    networks = {name: endpoint}
    for other, aliases in (c.get("more_networks") or {}).items():
        att = (connected or {}).get(other)
        networks[other] = {"IPAddress": att.ip if att else "", "IPPrefixLen": att.prefix if att else 0,
                           "Gateway": att.gateway if att else "", "MacAddress": att.mac if att else "",
                           "Aliases": aliases or None,
                           "IPAMConfig": {"IPv4Address": fixed} if (fixed := (c.get("more_ips") or {}).get(other))
                           else None}
    return {"Networks": networks, "Ports": ports, "IPAddress": net.get("ip", ""),
            "Gateway": net.get("gateway", ""), "MacAddress": net.get("mac", ""),
            "SandboxKey": net.get("netns", "")}


def _memory_swap(c: ContainerConfig) -> int:
    """Docker's HostConfig.MemorySwap: memory plus swap; with --memory alone sampan gives no
    swap, so it equals Memory; 0 with no memory limit."""
    swap = c.get("memory_swap")
    return swap if swap is not None else (c.get("memory") or 0)
