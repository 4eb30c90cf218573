"""POST /containers/create: Docker's ContainerConfig + HostConfig + NetworkingConfig
into the engine's RunOptions.

Clients send every field, most at their zero value. A field sampan does not
support is ignored while it holds its zero value; set, it becomes one of the
`Warnings` of the answer (--init, ulimits...), or a 400 when
ignoring it would make the container unsafe or wrong.
"""

from __future__ import annotations

from typing import Any

from sampan.engine.options import RunOptions
from sampan.server.errors import ApiError

# Set to anything but their zero value, these are reported back, not honoured.
_WARN_HOST = {
    "KernelMemory": "KernelMemory is deprecated and no longer supported by the kernel: ignored",
}
# UsernsMode: _compat_fields ("host" is what every container gets); CgroupnsMode: _cgroup_fields.


def _zero(v: Any) -> bool:
    if isinstance(v, dict):
        return all(_zero(x) for x in v.values()) or not v
    return v in (None, "", 0, False, [], "no")


def run_options(body: Any, name: str | None, platform: str | None = None) -> tuple[RunOptions, list[str]]:
    if not isinstance(body, dict):
        raise ApiError(400, "the container config must be a JSON object")
    host = _obj(body, "HostConfig")
    netcfg = _obj(body, "NetworkingConfig")
    image = body.get("Image")
    if not image or not isinstance(image, str):
        raise ApiError(400, "config has no image: give Image")
    warnings = [msg for key, msg in _WARN_HOST.items() if not _zero(host.get(key))]

    if _str(host, "PidMode") == "host" and not host.get("Privileged"):
        warnings.append("PidMode host: the container sees every process of the host, and its root "
                        "(CAP_KILL is a default capability) can signal any of them")
    volumes, tmpfs = _mounts(body, host)
    network, aliases, ip, ep_links = _network(host, netcfg)
    opts = dict(
        name=name or None,
        args=_strings(body, "Cmd") or [],
        entrypoint=_entrypoint(body.get("Entrypoint")),
        env=_strings(body, "Env") or [],
        workdir=_str(body, "WorkingDir"),
        user=_str(body, "User"),
        hostname=_str(body, "Hostname"),
        tty=bool(body.get("Tty")),
        interactive=bool(body.get("OpenStdin")),
        labels=_str_map(body, "Labels"),
        stop_signal=_str(body, "StopSignal"),
        stop_timeout=_int(body.get("StopTimeout")) if body.get("StopTimeout") is not None else None,
        mac_address=_str(body, "MacAddress"),
        volumes=volumes, tmpfs=tmpfs,
        read_only=bool(host.get("ReadonlyRootfs")),
        publish=_publish(host.get("PortBindings")),
        publish_all=bool(host.get("PublishAllPorts")),
        auto_remove=bool(host.get("AutoRemove")),
        network=network, network_aliases=aliases,
        dns=_strings(host, "Dns") or [],
        add_hosts=_strings(host, "ExtraHosts") or [],
        cap_add=_strings(host, "CapAdd") or [],
        cap_drop=_strings(host, "CapDrop") or [],
        privileged=bool(host.get("Privileged")),
        security_opt=_strings(host, "SecurityOpt") or [],
        devices=[_device(d) for d in _list(host, "Devices")],
        runtime=_str(host, "Runtime"),
        console_size=_console_size(host.get("ConsoleSize")),
        pull="never",  # Docker's create never pulls: a 404 makes the client pull and retry
        restart=_restart_policy(host.get("RestartPolicy")),
        healthcheck=_healthcheck(body.get("Healthcheck")),
        # Docker's Mount objects, Ulimit objects and Sysctls map: checked by the engine as the CLI's
        mounts=[m if isinstance(m, dict) else _bad("each of Mounts must be a JSON object")
                for m in _list(host, "Mounts")],
        ulimits=[u if isinstance(u, dict) else _bad("each of Ulimits must be a JSON object")
                 for u in _list(host, "Ulimits")],
        sysctls=_str_map(host, "Sysctls"),
        init=bool(host.get("Init")),
        shm_size=_int(host["ShmSize"]) if host.get("ShmSize") else None,
        pid_mode=_str(host, "PidMode"), ipc_mode=_str(host, "IpcMode"), uts_mode=_str(host, "UTSMode"),
        group_add=_strings(host, "GroupAdd") or [],
        dns_search=_strings(host, "DnsSearch") or [], dns_options=_strings(host, "DnsOptions") or [],
        ip=ip, platform=platform or None,
        volumes_from=_strings(host, "VolumesFrom") or [],
        expose=list(_obj(body, "ExposedPorts")), domainname=_str(body, "Domainname"),
        links=_strings(host, "Links") or ep_links,  # the CLI sends both on a user network
    )
    opts.update(_resources(host))
    opts.update(_compat_fields(body, host, warnings))
    opts.update(_log(host.get("LogConfig")))
    try:
        return RunOptions(image=image, **opts), warnings
    except TypeError as e:
        raise ApiError(400, str(e)) from None


def _compat_fields(body: dict, host: dict, warnings: list[str]) -> dict:
    """Annotations, and Docker's fields that have one meaning here (the engine refuses other
    values, as for the CLI's flags); Linux Docker's answers to its Windows-only resources."""
    if not _zero(host.get("CpuPercent")):
        warnings.append("linux does not support CPU percent. Percent discarded.")
    if not _zero(host.get("IOMaximumBandwidth")) or not _zero(host.get("IOMaximumIOps")):
        raise ApiError(400, "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps")
    requests = _list(host, "DeviceRequests")
    storage = host.get("StorageOpt")
    if storage is not None and not isinstance(storage, dict):
        raise ApiError(400, "StorageOpt must be a JSON object")
    userns = _str(host, "UsernsMode")
    return dict(attach=[s.lower() for s in ("Stdin", "Stdout", "Stderr") if body.get(f"Attach{s}")],
                annotations=_str_map(host, "Annotations"),
                userns_mode=None if userns == "private" else userns,  # private: the default
                isolation=_str(host, "Isolation"), volume_driver=_str(host, "VolumeDriver"),
                storage_opt=_str_map(host, "StorageOpt"), gpus="DeviceRequests" if requests else None)


def _restart_policy(v: Any) -> dict | None:
    """HostConfig.RestartPolicy, its types checked (the engine checks its values)."""
    if v is None or v == {}:
        return None
    if not isinstance(v, dict):
        raise ApiError(400, "RestartPolicy must be a JSON object")
    name = _str(v, "Name") or "no"
    retries = v.get("MaximumRetryCount") or 0
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise ApiError(400, "RestartPolicy.MaximumRetryCount must be an integer")
    return None if name == "no" and not retries else {"Name": name, "MaximumRetryCount": retries}


def _healthcheck(v: Any) -> dict | None:
    """Config.Healthcheck: Test, and durations in nanoseconds (the engine merges it with the
    image's and checks it)."""
    h = _obj({"Healthcheck": v}, "Healthcheck")
    out: dict = {}
    test = _strings(h, "Test")
    if test:
        out["Test"] = test
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
        if h.get(key) is not None:
            out[key] = _int(h[key])
    return out or None


def _obj(body: dict, key: str) -> dict:
    v = body.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise ApiError(400, f"{key} must be a JSON object")
    return v


def _str(body: dict, key: str) -> str | None:
    """A string field; None when absent or empty."""
    v = body.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ApiError(400, f"{key} must be a string")
    return v


def _list(body: dict, key: str) -> list:
    v = body.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ApiError(400, f"{key} must be a list")
    return v


def _strings(body: dict, key: str) -> list[str] | None:
    v = body.get(key)
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ApiError(400, f"{key} must be a list of strings")
    return list(v)


def _str_map(body: dict, key: str) -> dict[str, str]:
    v = body.get(key) or {}
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise ApiError(400, f"{key} must map strings to strings")
    return dict(v)


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ApiError(400, f"expected an integer, got {v!r}")
    return v


def _entrypoint(v: Any) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ApiError(400, "Entrypoint must be a list of strings")
    return list(v)


def _mounts(body: dict, host: dict) -> tuple[list[str], list[str]]:
    """Binds, Tmpfs and the image-style anonymous Volumes, as -v / --tmpfs specs (Mounts go
    to the engine as they are)."""
    volumes = list(_strings(host, "Binds") or [])
    tmpfs = [f"{dst}:{opt}" if opt else dst for dst, opt in _str_map(host, "Tmpfs").items()]
    declared = {v.split(":")[1] if ":" in v else v for v in volumes}
    declared |= {m["Target"] for m in _list(host, "Mounts") if isinstance(m, dict)
                 and isinstance(m.get("Target"), str)}
    for dst in _obj(body, "Volumes"):
        if dst not in declared:
            volumes.append(dst)  # an anonymous volume, as VOLUME in an image
    return volumes, tmpfs


def _publish(bindings: Any) -> list[str]:
    """{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} -> ["8080:80/tcp"]."""
    if not bindings:
        return []
    if not isinstance(bindings, dict):
        raise ApiError(400, "PortBindings must be a JSON object")
    out = []
    for port, hosts in bindings.items():
        if hosts is not None and not isinstance(hosts, list):
            raise ApiError(400, f"PortBindings of {port} must be a list of host bindings")
        for h in hosts or [{}]:
            if h is not None and not isinstance(h, dict):
                raise ApiError(400, f"a host binding of {port} must be a JSON object")
            ip, hport = _str(h or {}, "HostIp") or "", _str(h or {}, "HostPort") or ""
            if ":" in ip:
                ip = f"[{ip}]"
            if ip:
                out.append(f"{ip}:{hport}:{port}")
            elif hport:
                out.append(f"{hport}:{port}")
            else:
                out.append(port)
    return out


def _bad(message: str):
    raise ApiError(400, message)


def _network(host: dict, netcfg: dict) -> tuple[str, list[str], str | None, list[str]]:
    mode = _str(host, "NetworkMode") or "default"
    if mode == "default":
        mode = "bridge"
    endpoints = _obj(netcfg, "EndpointsConfig")
    ep = endpoints.get(mode) or (next(iter(endpoints.values())) if len(endpoints) == 1 else None) or {}
    if not isinstance(ep, dict):
        raise ApiError(400, f"the endpoint settings for {mode} must be a JSON object")
    ipam = _obj(ep, "IPAMConfig")
    return mode, _strings(ep, "Aliases") or [], _str(ipam, "IPv4Address"), _strings(ep, "Links") or []


def _device(d: Any) -> str:
    if not isinstance(d, dict) or not _str(d, "PathOnHost"):
        raise ApiError(400, "each of Devices needs a PathOnHost")
    return ":".join(p for p in (_str(d, "PathOnHost"), _str(d, "PathInContainer"), _str(d, "CgroupPermissions"))
                    if p)


def _resources(host: dict) -> dict:
    out: dict = {}

    def given(key: str) -> Any:
        v = host.get(key)
        return None if v in (None, 0, "") else v

    if given("Memory"):
        out["memory"] = str(_int(host["Memory"]))
    if given("MemorySwap"):
        out["memory_swap"] = str(_int(host["MemorySwap"]))
    if given("MemoryReservation"):
        out["memory_reservation"] = str(_int(host["MemoryReservation"]))
    if given("NanoCpus"):
        out["cpus"] = repr(_int(host["NanoCpus"]) / 1e9)
    if given("CpuShares"):
        out["cpu_shares"] = str(_int(host["CpuShares"]))
    if given("CpusetCpus"):
        out["cpuset_cpus"] = str(host["CpusetCpus"])
    if given("CpusetMems"):
        out["cpuset_mems"] = str(host["CpusetMems"])
    if given("BlkioWeight"):
        out["blkio_weight"] = str(_int(host["BlkioWeight"]))
    if given("PidsLimit") and _int(host["PidsLimit"]) > 0:
        out["pids_limit"] = _int(host["PidsLimit"])
    out.update(_cgroup_fields(host))
    return out


# HostConfig field -> RunOptions name, for the cgroup flags (the engine checks the values)
_CGROUP_NUMBERS = {"CpuPeriod": "cpu_period", "CpuQuota": "cpu_quota", "CpuRealtimePeriod": "cpu_rt_period",
                   "CpuRealtimeRuntime": "cpu_rt_runtime", "OomScoreAdj": "oom_score_adj"}
_CGROUP_DEVICES = {"BlkioWeightDevice": "blkio_weight_device", "BlkioDeviceReadBps": "device_read_bps",
                   "BlkioDeviceWriteBps": "device_write_bps", "BlkioDeviceReadIOps": "device_read_iops",
                   "BlkioDeviceWriteIOps": "device_write_iops"}


def _cgroup_fields(host: dict) -> dict:
    out: dict = {}
    for key, name in _CGROUP_NUMBERS.items():
        if host.get(key):
            out[name] = _int(host[key])
    for key, name in _CGROUP_DEVICES.items():
        items = _list(host, key)
        if any(not isinstance(d, dict) for d in items):
            raise ApiError(400, f"each of {key} must be a JSON object")
        if items:
            out[name] = items
    swappiness = host.get("MemorySwappiness")
    if swappiness is not None and _int(swappiness) != -1:  # null or -1: the host's default
        out["memory_swappiness"] = swappiness
    kill = host.get("OomKillDisable")
    if kill is not None and not isinstance(kill, bool):
        raise ApiError(400, "OomKillDisable must be a boolean")
    out["oom_kill_disable"] = bool(kill)
    out["cgroup_parent"] = _str(host, "CgroupParent")
    mode = _str(host, "CgroupnsMode")
    if mode not in (None, "host", "private"):
        raise ApiError(400, f"invalid cgroup namespace mode: {mode}")
    out["cgroupns"] = mode
    out["device_cgroup_rules"] = _strings(host, "DeviceCgroupRules") or []
    return out


def _log(cfg: Any) -> dict:
    if not cfg:
        return {}
    if not isinstance(cfg, dict):
        raise ApiError(400, "LogConfig must be a JSON object")
    kind = _str(cfg, "Type") or "json-file"
    if kind not in ("json-file", "local", "none"):
        raise ApiError(400, f"log driver {kind!r} is not supported: use json-file, local or none")
    conf = _obj(cfg, "Config")
    out: dict = {"log_driver": kind}
    if _str(conf, "max-size"):
        out["log_max_size"] = conf["max-size"]
    if _str(conf, "max-file"):
        try:
            out["log_max_files"] = int(conf["max-file"])
        except ValueError:
            raise ApiError(400, f"invalid max-file {conf['max-file']!r}") from None
    return out


def _console_size(v: Any) -> tuple[int, int] | None:
    """HostConfig.ConsoleSize: [height, width] of the client's terminal (API 1.42+)."""
    if v is None:
        return None
    if not (isinstance(v, list) and len(v) == 2 and all(type(x) is int and 0 <= x <= 65535 for x in v)):
        raise ApiError(400, "ConsoleSize must be [height, width], each 0 to 65535")
    return (v[0], v[1])
