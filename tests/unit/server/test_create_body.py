"""POST /containers/create's body is hostile: any field of any JSON type is either taken or
refused with a 400 (ApiError), never a crash (a 500 with a traceback in the service's log)."""

import itertools

import pytest

from sampan.server.create_body import run_options
from sampan.server.errors import ApiError

WRONG = ["x", 7, -1, True, 1.5, [], ["x"], [7], [{}], {}, {"a": 1}, {"a": "b"}, {"a": [1]}, None]

CONFIG_KEYS = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Hostname", "Tty", "OpenStdin", "Labels",
               "StopSignal", "StopTimeout", "MacAddress", "Volumes", "Healthcheck", "ExposedPorts"]
HOST_KEYS = ["Binds", "Mounts", "Tmpfs", "PortBindings", "PublishAllPorts", "AutoRemove", "NetworkMode",
             "Dns", "ExtraHosts", "CapAdd", "CapDrop", "Privileged", "SecurityOpt", "Devices", "Runtime",
             "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuQuota", "CpuPeriod", "CpuShares",
             "CpusetCpus", "CpusetMems", "BlkioWeight", "PidsLimit", "LogConfig", "RestartPolicy", "PidMode",
             "ReadonlyRootfs", "Init", "ConsoleSize"]


def _translate(body):
    try:
        run_options(body, None)
    except ApiError as e:
        assert e.status == 400 and e.message
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
                 {"Mounts": [{"Type": value, "Target": "/t"}]},
                 {"Mounts": [{"Type": "bind", "Source": value, "Target": value}]},
                 {"PortBindings": {"80/tcp": value}}, {"PortBindings": {"80/tcp": [value]}},
                 {"PortBindings": {"80/tcp": [{"HostIp": value, "HostPort": value}]}},
                 {"LogConfig": {"Type": value}}, {"LogConfig": {"Config": value}},
                 {"LogConfig": {"Config": {"max-size": value, "max-file": value}}},
                 {"Devices": [{"PathOnHost": value, "PathInContainer": value}]}):
        _translate({"Image": "busybox", "HostConfig": body})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": value}}})
    _translate({"Image": "busybox", "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": value}}}})
    _translate({"Image": "busybox", "Healthcheck": {"Test": value}})


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
    assert opts.publish == ["127.0.0.1:8080:80/tcp"] and opts.tmpfs == ["/t:size=1024"]
    assert (opts.log_max_size, opts.log_max_files) == ("1m", 2)
    assert any("healthcheck" in w for w in warnings)


def test_console_size_reaches_the_options_and_bad_ones_are_refused():
    opts, _ = run_options({"Image": "busybox", "Tty": True, "HostConfig": {"ConsoleSize": [33, 111]}}, None)
    assert opts.console_size == (33, 111)
    for bad in ([1], [1, 2, 3], ["1", "2"], [-1, 5], [70000, 1], [1.5, 2], [True, 2]):
        with pytest.raises(ApiError):
            run_options({"Image": "busybox", "HostConfig": {"ConsoleSize": bad}}, None)
