"""Issue 11 through the docker CLIs against `sampan system service`: HostConfig.VolumesFrom,
Config.ExposedPorts, Config.Domainname and HostConfig.Links reach the container (checked
from inside) and inspect shows them as Docker does."""

import json

import pytest

from tests.support.api import docker_clis, request

CLIS = docker_clis()
NONE = ["--network", "none"]


def ok(service, cli, *args) -> str:
    r = service.docker(*args, cli=cli)
    assert r.rc == 0, (args, r.err)
    return r.out


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



@pytest.mark.parametrize("field", [{"ExposedPorts": {"80:80/tcp": {}}}, {"ExposedPorts": {"99999/tcp": {}}},
                                   {"ExposedPorts": ["80/tcp"]}, {"Domainname": "a\nb"},
                                   {"HostConfig": {"VolumesFrom": "x:z"}}, {"HostConfig": {"VolumesFrom": [1]}}])
def test_hostile_fields_are_400(service, field):
    body = json.dumps({"Image": "busybox", **field}).encode()
    status, _, answer = request(service, "POST", "/v1.41/containers/create", body,
                                {"Content-Type": "application/json"})
    assert status == 400, answer
    assert json.loads(request(service, "GET", "/v1.41/containers/json?all=1")[2]) == []
