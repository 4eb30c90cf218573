"""POST /containers/create's body is hostile: any field of any JSON type is either taken or
refused with a 400 (ApiError), never a crash (a 500 with a traceback in the service's log)."""

import itertools

import pytest

from sampan.server.create_body import run_options
from sampan.errors import InvalidArgument
from sampan.server.errors import ApiError

WRONG = ["x", 7, -1, True, 1.5, [], ["x"], [7], [{}], {}, {"a": 1}, {"a": "b"}, {"a": [1]}, None]

CONFIG_KEYS = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Tty", "OpenStdin", "Labels",
               "StopSignal", "StopTimeout", "MacAddress", "Volumes", "Healthcheck", "ExposedPorts", "Domainname"]
HOST_KEYS = ["Binds", "Mounts", "Tmpfs", "PortBindings", "PublishAllPorts", "AutoRemove", "NetworkMode",
             "Dns", "ExtraHosts", "CapAdd", "CapDrop", "Privileged", "SecurityOpt", "Devices", "Runtime",
             "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuQuota", "CpuPeriod", "CpuShares",
             "CpusetCpus", "CpusetMems", "BlkioWeight", "PidsLimit", "LogConfig", "RestartPolicy", "PidMode",
             "ReadonlyRootfs", "Init", "ConsoleSize", "Ulimits", "Sysctls", "ShmSize", "IpcMode", "UTSMode",
             "GroupAdd", "DnsSearch", "DnsOptions", "VolumesFrom", "Links", "Annotations", "UsernsMode", "Isolation", "VolumeDriver",
             "StorageOpt", "DeviceRequests", "CpuPercent", "CpuCount", "IOMaximumBandwidth", "IOMaximumIOps",
             "CpuRealtimePeriod", "CpuRealtimeRuntime", "BlkioWeightDevice",
             "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps",
             "MemorySwappiness", "OomKillDisable", "OomScoreAdj", "KernelMemory", "CgroupParent", "CgroupnsMode",
             "DeviceCgroupRules"]


def _translate(body):
    try:
        opts, _ = run_options(body, None)
    except ApiError as e:
        assert e.status == 400 and e.message
        return
    # Mounts, Ulimits and Sysctls are checked by the engine (an InvalidArgument: a 400 too)
    from sampan.engine.create_flags import shm_size
    from sampan.engine.mounts import parse_mount
    from sampan.specgen.sysctls import parse_sysctls
    from sampan.specgen.ulimits import parse_ulimit
    checks = [lambda m=m: parse_mount(m) for m in opts.mounts]
    checks += [lambda u=u: parse_ulimit(u) for u in opts.ulimits]
    checks += [lambda: parse_sysctls(opts.sysctls, opts.network, opts.ipc_mode), lambda: shm_size(opts.shm_size)]
    # --expose, --domainname, --volumes-from and --link: their parsers, before any lookup
    from sampan.engine import links, volumes_from
    from sampan.engine.net_flags import check_domainname, parse_expose
    checks += [lambda: parse_expose(opts.expose), lambda: check_domainname(opts.domainname),
               lambda: volumes_from.check(opts.volumes_from)] + [lambda x=x: links.parse(x) for x in opts.links]
    from types import SimpleNamespace

    from sampan.engine import create_compat
    ctx = SimpleNamespace(paths=SimpleNamespace(root="/nonexistent-root", runroot="/nonexistent-run"))
    checks.append(lambda: create_compat.check(ctx, opts))
    from sampan.engine import cgroup_flags
    checks.append(lambda: cgroup_flags.check(opts, nano_cpus_given=bool(opts.cpus)))
    for check in checks:
        try:
            check()
        except InvalidArgument as e:
            assert e.message
    # anything else propagates and fails the test


@pytest.mark.parametrize("key,value", list(itertools.product(CONFIG_KEYS, WRONG)))
def test_any_type_in_the_config_is_taken_or_a_400(key, value):
    _translate({"Image": "busybox", key: value})


@pytest.mark.parametrize("key,value", list(itertools.product(HOST_KEYS, WRONG)))
def test_any_type_in_the_host_config_is_taken_or_a_400(key, value):
    _translate({"Image": "busybox", "HostConfig": {key: value}})


@pytest.mark.parametrize("value", WRONG)
def test_nested_objects_of_any_type_are_taken_or_a_400(value):
    for body in ({"Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": value}]},
                 {"Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": value, "Mode": value}}]},
                 {"Mounts": [{"Type": "bind", "Source": "/tmp", "Target": "/t", "BindOptions": value}]},
                 {"Mounts": [{"Type": "bind", "Source": "/tmp", "Target": "/t", "BindOptions": {"Propagation": value}}]},
                 {"Mounts": [{"Type": "volume", "Target": "/t", "VolumeOptions": {"NoCopy": value}}]},
                 {"Mounts": [{"Type": "volume", "Target": "/t", "ReadOnly": value}]},
                 {"Ulimits": [{"Name": value, "Soft": value, "Hard": value}]}, {"Ulimits": [value]},
                 {"Sysctls": {"net.x": value}},
                 {"Mounts": [{"Type": value, "Target": "/t"}]},
                 {"Mounts": [{"Type": "bind", "Source": value, "Target": value}]},
                 {"PortBindings": {"80/tcp": value}}, {"PortBindings": {"80/tcp": [value]}},
                 {"PortBindings": {"80/tcp": [{"HostIp": value, "HostPort": value}]}},
                 {"LogConfig": {"Type": value}}, {"LogConfig": {"Config": value}},
                 {"LogConfig": {"Config": {"max-size": value, "max-file": value}}},
                 {"Devices": [{"PathOnHost": value, "PathInContainer": value}]},
                 {"BlkioDeviceReadBps": [{"Path": value, "Rate": value}]}, {"BlkioDeviceWriteIOps": [value]},
                 {"BlkioWeightDevice": [{"Path": "/dev/null", "Weight": value}]},
                 {"BlkioDeviceReadBps": [{"Path": "/dev/../etc/passwd", "Rate": 1}]}, {"DeviceCgroupRules": [value]}):
        _translate({"Image": "busybox", "HostConfig": body})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": value}}})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": value}}}})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"n": {"Links": value}}}})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {"IPAMConfig": value}}}})
    _translate({"Image": "busybox",
                "NetworkingConfig": {"EndpointsConfig": {"n": {"IPAMConfig": {"IPv4Address": value}}}}})
    _translate({"Image": "busybox", "Healthcheck": {"Test": value}})
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
        _translate({"Image": "busybox", "Healthcheck": {"Test": ["CMD", "true"], key: value}})
    _translate({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": value}}})
    _translate({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "on-failure",
                                                                     "MaximumRetryCount": value}}})


def test_well_formed_fields_are_taken():
    opts, warnings = run_options({
        "Image": "busybox", "Cmd": ["sh"], "Entrypoint": ["a", "b"], "WorkingDir": "/w", "User": "1:2",
        "Healthcheck": {"Test": ["CMD", "true"]},
        "NetworkingConfig": {"EndpointsConfig": {"net": {"Aliases": ["db"]}}},
        "HostConfig": {"NetworkMode": "net", "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                       "Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}}],
                       "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "2"}}}},
        None)
    assert (opts.args, opts.entrypoint, opts.workdir, opts.user) == (["sh"], ["a", "b"], "/w", "1:2")
    assert opts.network == "net" and opts.network_aliases == ["db"]
    assert opts.publish == ["127.0.0.1:8080:80/tcp"]
    assert opts.mounts == [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}}]
    assert (opts.log_max_size, opts.log_max_files) == ("1m", 2)
    assert opts.healthcheck == {"Test": ["CMD", "true"]} and not warnings


def test_restart_policy_and_healthcheck_are_taken():
    opts, warnings = run_options({
        "Image": "busybox", "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 10**9, "Retries": 2},
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}}, None)
    assert opts.restart == {"Name": "on-failure", "MaximumRetryCount": 3} and not warnings
    assert opts.healthcheck == {"Test": ["CMD-SHELL", "true"], "Interval": 10**9, "Retries": 2}
    opts, _ = run_options({"Image": "busybox", "HostConfig": {"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}}},
                          None)
    assert opts.restart is None


def test_run_flag_fields_are_taken():
    opts, warnings = run_options({
        "Image": "busybox",
        "NetworkingConfig": {"EndpointsConfig": {"net": {"IPAMConfig": {"IPv4Address": "10.9.0.5"}}}},
        "HostConfig": {"NetworkMode": "net", "Init": True, "Ulimits": [{"Name": "nofile", "Soft": 1, "Hard": 2}],
                       "ShmSize": 1 << 27, "Sysctls": {"net.ipv4.ip_forward": "1"}, "PidMode": "host",
                       "IpcMode": "shareable", "UTSMode": "host", "GroupAdd": ["audio"], "DnsSearch": ["a.b"],
                       "DnsOptions": ["ndots:2"], "LogConfig": {"Type": "none"}}}, None, "linux/amd64")
    assert (opts.init, opts.ulimits, opts.shm_size, opts.sysctls) == (
        True, [{"Name": "nofile", "Soft": 1, "Hard": 2}], 1 << 27, {"net.ipv4.ip_forward": "1"})
    assert (opts.pid_mode, opts.ipc_mode, opts.uts_mode, opts.group_add) == ("host", "shareable", "host", ["audio"])
    assert (opts.dns_search, opts.dns_options, opts.log_driver) == (["a.b"], ["ndots:2"], "none")
    assert (opts.ip, opts.platform) == ("10.9.0.5", "linux/amd64")
    assert len(warnings) == 1 and "PidMode host" in warnings[0]


def test_compat_fields_are_taken_or_refused_as_docker():
    opts, warnings = run_options({"Image": "busybox", "HostConfig": {
        "Annotations": {"com.example/a": "1"}, "UsernsMode": "host", "Isolation": "default",
        "VolumeDriver": "local", "CpuPercent": 50, "CpuCount": 2}}, None)
    assert (opts.annotations, opts.userns_mode, opts.isolation, opts.volume_driver, opts.gpus) == (
        {"com.example/a": "1"}, "host", "default", "local", None)
    assert warnings == ["linux does not support CPU percent. Percent discarded."]
    opts, _ = run_options({"Image": "busybox", "HostConfig": {
        "DeviceRequests": [{"Count": -1, "Capabilities": [["gpu"]]}], "StorageOpt": {"size": "1G"}}}, None)
    assert opts.gpus and opts.storage_opt == {"size": "1G"}  # the engine refuses both
    opts, _ = run_options({"Image": "busybox", "HostConfig": {"UsernsMode": "private"}}, None)
    assert opts.userns_mode is None
    for key in ("IOMaximumBandwidth", "IOMaximumIOps"):
        with pytest.raises(ApiError) as e:
            run_options({"Image": "busybox", "HostConfig": {key: 1}}, None)
        assert e.value.status == 400 and e.value.message == (
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps")


def test_console_size_reaches_the_options_and_bad_ones_are_refused():
    opts, _ = run_options({"Image": "busybox", "Tty": True, "HostConfig": {"ConsoleSize": [33, 111]}}, None)
    assert opts.console_size == (33, 111)
    for bad in ([1], [1, 2, 3], ["1", "2"], [-1, 5], [70000, 1], [1.5, 2], [True, 2]):
        with pytest.raises(ApiError):
            run_options({"Image": "busybox", "HostConfig": {"ConsoleSize": bad}}, None)
