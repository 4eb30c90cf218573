"""Issue 11 through the docker CLIs against `sampan system service`: HostConfig.VolumesFrom,
Config.ExposedPorts, Config.Domainname and HostConfig.Links reach the container (checked
from inside) and inspect shows them as Docker does."""

import json

import pytest

from tests.support.api import docker_clis

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
