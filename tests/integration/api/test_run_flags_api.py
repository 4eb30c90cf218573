"""The run flags of issue 11 through the docker CLIs against `sampan system service`: each
field of the create body (HostConfig.Init, Mounts, Ulimits, ShmSize, Sysctls, PidMode,
IpcMode, UTSMode, GroupAdd, DnsSearch, DnsOptions, LogConfig none, IPAMConfig, ?platform=,
StopTimeout) reaches the container, checked from inside, and inspect shows it as Docker."""

import json
import os
import platform

import pytest

from tests.support.api import docker_clis, docker_ok as ok, request

CLIS = docker_clis()
NONE = ["--network", "none"]


@pytest.mark.parametrize("cli", CLIS)
def test_process_and_kernel_flags(service, cli, tmp_path):
    (tmp_path / "f").write_text("bound")
    script = ("ulimit -n; ulimit -Hn; df -k /dev/shm | tail -1 | awk '{print $2}'; "
              "cat /proc/sys/net/ipv4/ip_forward; id -G; grep -E '^(search|options)' /etc/resolv.conf; "
              "cat /b/f; echo; cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname")
    out = ok(service, cli, "run", "--name", "flags", *NONE, "--init", "--ulimit", "nofile=1024:2048",
             "--shm-size", "32m", "--sysctl", "net.ipv4.ip_forward=1", "--group-add", "1234",
             "--dns-search", "example.com", "--dns-option", "ndots:3",
             "--mount", f"type=bind,src={tmp_path},dst=/b,readonly", "--uts", "host", "--stop-timeout", "4",
             "busybox", "sh", "-c", script)
    lines = out.splitlines()
    assert lines[:4] == ["1024", "2048", str(32 * 1024), "1"], out
    assert "1234" in lines[4].split()
    assert lines[5:7] == ["search example.com", "options ndots:3"]
    assert lines[7] == "bound" and lines[8].startswith("/sbin/docker-init -- sh -c")
    assert lines[9] == os.uname().nodename
    info = json.loads(ok(service, cli, "inspect", "flags"))[0]
    hc = info["HostConfig"]
    assert hc["Init"] is True and hc["ShmSize"] == 32 << 20
    assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]
    assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"} and hc["GroupAdd"] == ["1234"]
    assert (hc["DnsSearch"], hc["DnsOptions"], hc["UTSMode"]) == (["example.com"], ["ndots:3"], "host")
    assert hc["Mounts"][0]["Type"] == "bind" and hc["Mounts"][0]["Target"] == "/b"
    assert info["Config"]["StopTimeout"] == 4


@pytest.mark.parametrize("cli", CLIS)
def test_namespaces_log_driver_and_platform(service, cli):
    ok(service, cli, "run", "-d", "--name", "donor", *NONE, "--ipc", "shareable", "busybox", "sh", "-c",
       "echo tok > /dev/shm/t; exec sleep 60")
    out = ok(service, cli, "run", "--rm", *NONE, "--pid", "container:donor", "--ipc", "container:donor",
             "busybox", "sh", "-c", "ps -o comm | grep -c sleep; cat /dev/shm/t")
    assert out.split() == ["1", "tok"]
    ok(service, cli, "rm", "-f", "donor")
    r = service.docker("run", "--rm", *NONE, "--pid", "container:donor", "busybox", "true", cli=cli)
    assert r.rc != 0 and "donor" in r.err
    ok(service, cli, "run", "--name", "quiet", *NONE, "--log-driver", "none", "busybox", "echo", "hi")
    r = service.docker("logs", "quiet", cli=cli)
    assert r.rc != 0 and "configured logging driver does not support reading" in r.err
    assert json.loads(ok(service, cli, "inspect", "quiet"))[0]["HostConfig"]["LogConfig"]["Type"] == "none"
    r = service.docker("run", "--rm", *NONE, "--pid", "host", "busybox", "sh", "-c", "ls /proc | grep -c '^[0-9]'",
                       cli=cli)
    assert r.rc == 0 and int(r.out) > 10 and "PidMode host" in r.err, r.err  # the create's Warnings
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    assert ok(service, cli, "run", "--rm", *NONE, "--platform", f"linux/{arch}", "busybox", "echo", "p") == "p\n"


@pytest.mark.parametrize("cli", CLIS)
def test_ip_on_a_user_network(service, cli):
    ok(service, cli, "network", "create", "apinet")
    subnet = json.loads(ok(service, cli, "network", "inspect", "apinet"))[0]["IPAM"]["Config"][0]["Subnet"]
    import ipaddress
    want = str(list(ipaddress.ip_network(subnet).hosts())[50])
    out = ok(service, cli, "run", "--rm", "--network", "apinet", "--ip", want, "busybox", "sh", "-c",
             "ip -4 -o addr show eth0 | awk '{print $4}'")
    assert out.strip().split("/")[0] == want
    r = service.docker("run", "--rm", "--network", "apinet", "--ip", "192.0.2.9", "busybox", "true", cli=cli)
    assert r.rc != 0 and "192.0.2.9" in r.err
    ok(service, cli, "network", "rm", "apinet")


def test_hostile_create_bodies_are_400s(service):
    """What the docker CLI would refuse itself, sent raw: the service refuses it too."""
    for host, words in (
            ({"Sysctls": {"kernel.core_pattern": "|/tmp/x"}}, "is not allowed"),
            ({"Sysctls": {"net.ipv4/../../kernel/core_pattern": "x"}}, "is not allowed"),
            ({"Mounts": [{"Type": "volume", "Source": "../../etc", "Target": "/v"}]}, "not a valid volume name"),
            ({"Mounts": [{"Type": "bind", "Source": "relative", "Target": "/v"}]}, "must be absolute"),
            ({"Mounts": [{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"Mode": "777"}}]}, "whole number"),
            ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]}, "soft limit"),
            ({"PidMode": "container:nosuch"}, "No such container: nosuch"),
            ({"IpcMode": "bogus"}, "invalid IPC mode"),
            ({"ShmSize": -5}, "SHM size")):
        body = json.dumps({"Image": "busybox", "Cmd": ["true"], "HostConfig": host}).encode()
        status, _, answer = request(service, "POST", "/v1.41/containers/create", body,
                                    {"Content-Type": "application/json"})
        assert status == 400 and words in json.loads(answer)["message"], (host, status, answer)
    assert service.cli("ps", "-aq").out == ""
