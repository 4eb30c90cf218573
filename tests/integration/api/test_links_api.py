"""Issue 11 through the docker CLIs against `sampan system service`: HostConfig.VolumesFrom,
Config.ExposedPorts, Config.Domainname and HostConfig.Links reach the container (checked
from inside) and inspect shows them as Docker does."""

import json

import pytest

from tests.support.api import docker_clis, docker_ok as ok, request

CLIS = docker_clis()
NONE = ["--network", "none"]


@pytest.mark.parametrize("cli", CLIS)
def test_volumes_from(service, cli):
    ok(service, cli, "create", "--name", "donor", *NONE, "-v", "apidata:/data", "busybox", "true")
    out = ok(service, cli, "run", "--name", "user", *NONE, "--volumes-from", "donor:ro", "busybox", "sh", "-c",
             "touch /data/x 2>/dev/null && echo rw || echo ro; grep -c ' /data ' /proc/mounts")
    assert out.split() == ["ro", "1"]
    info = json.loads(ok(service, cli, "inspect", "user"))[0]
    assert info["HostConfig"]["VolumesFrom"] == ["donor:ro"]
    assert [(m["Name"], m["RW"]) for m in info["Mounts"]] == [("apidata", False)]
    r = service.docker("run", "--rm", *NONE, "--volumes-from", "nope", "busybox", "true", cli=cli)
    assert r.rc == 125 and "No such container: nope" in r.err, r.err


@pytest.mark.parametrize("cli", CLIS)
def test_expose_and_domainname(service, cli):
    ok(service, cli, "run", "-d", "--name", "ex", "--expose", "7400-7401", "--domainname", "api.test",
       "busybox", "sleep", "60")
    info = json.loads(ok(service, cli, "inspect", "ex"))[0]
    assert set(info["Config"]["ExposedPorts"]) == {"7400/tcp", "7401/tcp"}
    assert info["Config"]["Domainname"] == "api.test"
    assert ok(service, cli, "exec", "ex", "cat", "/proc/sys/kernel/domainname").strip() == "api.test"
    assert ok(service, cli, "ps", "--format", "{{.Ports}}").strip() == "7400-7401/tcp"
    ok(service, cli, "rm", "-f", "ex")




@pytest.mark.parametrize("cli", CLIS)
def test_links(service, cli):
    ok(service, cli, "run", "-d", "--name", "db", "--expose", "6379", "-e", "ROLE=primary", "busybox", "sleep", "60")
    ip = json.loads(ok(service, cli, "inspect", "db"))[0]["NetworkSettings"]["IPAddress"]
    out = ok(service, cli, "run", "--name", "web", "--link", "db:cache", "busybox", "sh", "-c",
             "grep -w cache /etc/hosts; echo $CACHE_PORT_6379_TCP $CACHE_ENV_ROLE $CACHE_NAME")
    assert out.splitlines()[0].split()[:2] == [ip, "cache"]
    assert out.splitlines()[1].split() == [f"tcp://{ip}:6379", "primary", "/web/cache"]
    assert json.loads(ok(service, cli, "inspect", "web"))[0]["HostConfig"]["Links"] == ["/db:/web/cache"]
    r = service.docker("run", "--rm", "--link", "nope:x", "busybox", "true", cli=cli)
    assert r.rc == 125 and "could not get container for nope" in r.err, r.err
    ok(service, cli, "network", "create", "apilinks")
    ok(service, cli, "run", "-d", "--name", "db2", "--network", "apilinks", "busybox", "sleep", "60")
    ok(service, cli, "run", "-d", "--name", "web2", "--network", "apilinks", "--link", "db2:store",
       "busybox", "sleep", "60")
    ip2 = json.loads(ok(service, cli, "inspect", "db2"))[0]["NetworkSettings"]["Networks"]["apilinks"]["IPAddress"]
    assert ok(service, cli, "exec", "web2", "grep", "-w", "store", "/etc/hosts").split()[0] == ip2
    info = json.loads(ok(service, cli, "inspect", "web2"))[0]
    assert info["NetworkSettings"]["Networks"]["apilinks"]["Links"] == ["db2:store"]
    ok(service, cli, "rm", "-f", "web2", "db2", "web", "db")
    ok(service, cli, "network", "rm", "apilinks")



@pytest.mark.parametrize("cli", CLIS)
def test_network_connect_ip(service, cli):
    import ipaddress
    ok(service, cli, "network", "create", "apifix")
    subnet = json.loads(ok(service, cli, "network", "inspect", "apifix"))[0]["IPAM"]["Config"][0]["Subnet"]
    want = str(list(ipaddress.ip_network(subnet).hosts())[30])
    ok(service, cli, "run", "-d", "--name", "box", "busybox", "sleep", "60")
    ok(service, cli, "network", "connect", "--ip", want, "--alias", "fx", "apifix", "box")
    assert f"inet {want}/" in ok(service, cli, "exec", "box", "ip", "-4", "-o", "addr", "show", "eth1")
    ep = json.loads(ok(service, cli, "inspect", "box"))[0]["NetworkSettings"]["Networks"]["apifix"]
    assert ep["IPAMConfig"] == {"IPv4Address": want} and "fx" in ep["Aliases"]
    r = service.docker("network", "connect", "--ip", "10.255.255.9", "apifix", "box", cli=cli)
    assert r.rc != 0 and "no configured subnet contains" in r.err, r.err
    ok(service, cli, "rm", "-f", "box")
    ok(service, cli, "network", "rm", "apifix")


@pytest.mark.parametrize("field", [{"ExposedPorts": {"80:80/tcp": {}}}, {"ExposedPorts": {"99999/tcp": {}}},
                                   {"ExposedPorts": ["80/tcp"]}, {"Domainname": "a\nb"},
                                   {"HostConfig": {"VolumesFrom": "x:z"}}, {"HostConfig": {"VolumesFrom": [1]}},
                                   {"HostConfig": {"Links": ["x:a\nb"]}}, {"HostConfig": {"Links": "x:y:z"}}])
def test_hostile_fields_are_400(service, field):
    body = json.dumps({"Image": "busybox", **field}).encode()
    status, _, answer = request(service, "POST", "/v1.41/containers/create", body,
                                {"Content-Type": "application/json"})
    assert status == 400, answer
    assert json.loads(request(service, "GET", "/v1.41/containers/json?all=1")[2]) == []
