"""/volumes and /networks through the docker CLIs, docker-py and raw HTTP."""

import json

import pytest

from tests.support.api import docker_clis, raw


def post(service, path: str, body, method: str = "POST") -> tuple[int, dict | list | str]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    out = raw(service, f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    head, _, payload = out.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    try:
        return status, json.loads(payload) if payload.strip() else ""
    except ValueError:
        return status, payload.decode(errors="replace")


@pytest.mark.parametrize("cli", docker_clis())
def test_volume_lifecycle_with_the_docker_cli(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    r = d("volume", "create", "--label", "team=blue", "data1")
    assert r.rc == 0 and r.out.strip() == "data1", r.err
    r = d("volume", "ls", "--format", "{{.Name}} {{.Driver}}")
    assert r.rc == 0 and "data1 local" in r.out, r.err
    assert d("volume", "ls", "-q", "-f", "label=team=red").out.strip() == ""
    assert d("volume", "ls", "-q", "-f", "label=team=blue").out.split() == ["data1"]
    info = json.loads(d("volume", "inspect", "data1").out)[0]
    assert info["Name"] == "data1" and info["Labels"] == {"team": "blue"} and info["Mountpoint"]
    # in use: refused with a message, the volume stays
    assert d("run", "-d", "--name", "user1", "-v", "data1:/data", "busybox", "sleep", "60").rc == 0
    r = d("volume", "rm", "data1")
    assert r.rc != 0 and "in use" in r.err
    assert d("rm", "-f", "user1").rc == 0
    r = d("volume", "rm", "data1")
    assert r.rc == 0 and r.out.strip() == "data1", r.err
    r = d("volume", "inspect", "data1")
    assert r.rc != 0 and "data1" in r.err
    assert service.cli("volume", "ls", "-q").out.strip() == ""


@pytest.mark.parametrize("cli", docker_clis())
def test_volume_prune(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("volume", "create", "keep").rc == 0
    assert d("volume", "create", "gone").rc == 0
    assert d("create", "--name", "holder", "-v", "keep:/k", "busybox", "true").rc == 0
    r = d("volume", "prune", "-f", *(["-a"] if "local" in cli else []))
    assert r.rc == 0, r.err
    names = d("volume", "ls", "-q").out.split()
    assert names == ["keep"]
    assert d("rm", "holder").rc == 0


def test_volume_api_errors(service):
    assert post(service, "/volumes/create", {"Name": "../x"})[0] == 400
    assert post(service, "/volumes/create", {"Name": 5})[0] == 400
    assert post(service, "/volumes/create", {"Labels": ["a"]})[0] == 400
    assert post(service, "/volumes/create", {"Driver": "nfs"})[0] == 400
    assert post(service, "/volumes/create", b"[1,2")[0] == 400
    assert post(service, "/volumes/nope", b"", method="DELETE")[0] == 404
    assert post(service, "/volumes/nope?force=1", b"", method="DELETE")[0] == 204
    assert post(service, "/volumes/nope", b"", method="GET")[0] == 404
    assert post(service, '/volumes/prune?filters={"bogus":["1"]}', b"")[0] == 400
    status, body = post(service, "/volumes?filters=%7Bnope", b"", method="GET")
    assert status == 400 and "filters" in body["message"]
    status, body = post(service, "/volumes/create", {"Name": "ok1"})
    assert status == 201 and body["Name"] == "ok1"
    status, body = post(service, "/volumes", b"", method="GET")
    assert status == 200 and [v["Name"] for v in body["Volumes"]] == ["ok1"] and body["Warnings"] == []


def test_docker_py_volumes(service):
    client = service.client()
    v = client.volumes.create("pyvol", labels={"a": "b"})
    assert v.name == "pyvol" and client.volumes.get("pyvol").attrs["Labels"] == {"a": "b"}
    assert [x.name for x in client.volumes.list(filters={"label": "a=b"})] == ["pyvol"]
    v.remove()
    assert client.volumes.list() == []


@pytest.mark.parametrize("cli", docker_clis())
def test_network_lifecycle_with_the_docker_cli(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    # one subnet per CLI: the two run at once under -n 2, and subnets are host-wide
    n = 3 + docker_clis().index(cli)
    r = d("network", "create", "--label", "x=y", "--subnet", f"10.217.{n}.0/24", "--gateway", f"10.217.{n}.1", "net1")
    assert r.rc == 0 and len(r.out.strip()) == 64, r.err
    nid = r.out.strip()
    r = d("network", "create", "net1")
    assert r.rc != 0 and "already exists" in r.err
    ls = d("network", "ls", "--format", "{{.Name}} {{.Driver}}")
    assert "net1 bridge" in ls.out
    assert d("network", "ls", "-q", "-f", "label=x=y").out.split() == [nid[:12]]
    info = json.loads(d("network", "inspect", "net1").out)[0]
    assert info["Id"] == nid and info["IPAM"]["Config"] == [{"Subnet": f"10.217.{n}.0/24", "Gateway": f"10.217.{n}.1"}]
    # connect a running container on the default bridge, reach it by its alias, disconnect
    assert d("run", "-d", "--name", "srv", "--network", "net1", "busybox", "httpd", "-f", "-p", "80").rc == 0
    assert d("run", "-d", "--name", "cl", "busybox", "sleep", "60").rc == 0
    r = d("network", "connect", "--alias", "other", "net1", "cl")
    assert r.rc == 0, r.err
    info = json.loads(d("network", "inspect", "net1").out)[0]
    assert {c["Name"] for c in info["Containers"].values()} == {"srv", "cl"}
    r = service.cli("exec", "cl", "sh", "-c", "wget -q -O /dev/null -T 5 http://srv/ ; echo rc=$?")
    assert "rc=1" in r.out or "rc=0" in r.out  # reached httpd (a 404 is rc 1): not a DNS failure
    assert "bad address" not in r.err
    r = d("network", "rm", "net1")
    assert r.rc != 0 and ("used by" in r.err or "attached" in r.err)
    r = d("network", "disconnect", "net1", "cl")
    assert r.rc == 0, r.err
    assert d("rm", "-f", "srv", "cl").rc == 0
    r = d("network", "rm", "net1")
    assert r.rc == 0, r.err
    assert d("network", "inspect", "net1").rc != 0


@pytest.mark.parametrize("cli", docker_clis())
def test_network_prune(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("network", "create", "p1").rc == 0
    assert d("network", "create", "p2").rc == 0
    assert d("create", "--name", "keeper", "--network", "p1", "busybox", "true").rc == 0
    r = d("network", "prune", "-f")
    assert r.rc == 0 and "p2" in r.out, r.err
    names = d("network", "ls", "--format", "{{.Name}}").out.split()
    assert "p1" in names and "p2" not in names
    assert d("rm", "keeper").rc == 0
    assert d("network", "rm", "p1").rc == 0


def test_network_api_errors(service):
    assert post(service, "/networks/create", {})[0] == 400
    assert post(service, "/networks/create", {"Name": "../../x"})[0] == 400
    assert post(service, "/networks/create", {"Name": "n", "Driver": "overlay"})[0] == 400
    assert post(service, "/networks/create", {"Name": "n", "IPAM": {"Config": "x"}})[0] == 400
    assert post(service, "/networks/create", {"Name": "n", "IPAM": {"Config": [{"Subnet": "nonsense"}]}})[0] == 400
    assert post(service, "/networks/create", {"Name": "n", "Labels": {"a": 1}})[0] == 400
    assert post(service, "/networks/create", [1])[0] == 400
    assert post(service, "/networks/nope", b"", method="GET")[0] == 404
    assert post(service, "/networks/nope", b"", method="DELETE")[0] == 404
    assert post(service, "/networks/bridge/connect", {})[0] == 400
    assert post(service, "/networks/bridge/connect", {"Container": "nope"})[0] == 404
    assert post(service, "/networks/bridge/disconnect", {"Container": ["x"]})[0] == 400
    status, body = post(service, "/networks/create", {"Name": "dup", "CheckDuplicate": True})
    assert status == 201 and len(body["Id"]) == 64
    dup_id = body["Id"]
    status, body = post(service, "/networks/create", {"Name": "dup"})
    assert status == 409 and "dup" in body["message"]
    assert post(service, f"/networks/{dup_id[:4]}", b"", method="GET")[1]["Id"] == dup_id
    assert post(service, f"/networks/{dup_id[:3]}_", b"", method="GET")[0] == 404  # no LIKE wildcards
    assert post(service, f"/networks/{dup_id[:3]}%25", b"", method="GET")[0] == 404
    status, body = post(service, '/networks?filters={"type":["custom"],"dangling":["true"]}', b"", method="GET")
    assert status == 200 and [n["Name"] for n in body] == ["dup"]
    assert post(service, '/networks?filters={"type":["other"]}', b"", method="GET")[0] == 400
    assert post(service, '/networks?filters={"dangling":["maybe"]}', b"", method="GET")[0] == 400
    assert post(service, "/networks/dup", b"", method="DELETE")[0] == 204
    assert post(service, "/networks/bridge", b"", method="DELETE")[0] == 403


def test_docker_py_networks(service):
    client = service.client()
    net = client.networks.create("pynet", driver="bridge", labels={"k": "v"})
    assert client.networks.get(net.id).name == "pynet"
    assert [n.name for n in client.networks.list(names=["pynet"])] == ["pynet"]
    c = client.containers.run("busybox", ["sleep", "60"], detach=True, name="pyc")
    try:
        net.connect(c, aliases=["pyalias"])
        net.reload()
        assert [x.name for x in net.containers] == ["pyc"]
        net.disconnect(c)
    finally:
        c.remove(force=True)
    net.remove()
    assert [n.name for n in client.networks.list()] == ["bridge"]


def interfaces(service, name: str) -> list[str]:
    r = service.cli("exec", name, "sh", "-c", "ls /sys/class/net")
    return sorted(i for i in r.out.split() if i != "lo")


@pytest.mark.parametrize("cli", docker_clis())
def test_a_container_on_two_networks_keeps_them_across_restarts(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("network", "create", "front").rc == 0 and d("network", "create", "back").rc == 0
    assert d("create", "--name", "mm", "--network", "front", "busybox", "sleep", "60").rc == 0
    r = d("network", "connect", "--alias", "mm-back", "back", "mm")  # not running: at its start
    assert r.rc == 0, r.err
    nets = json.loads(d("inspect", "-f", "{{json .NetworkSettings.Networks}}", "mm").out)
    assert sorted(nets) == ["back", "front"] and nets["back"]["Aliases"] == ["mm-back"]
    assert d("start", "mm").rc == 0
    assert interfaces(service, "mm") == ["eth0", "eth1"]
    assert d("run", "-d", "--name", "peer", "--network", "back", "busybox", "sleep", "60").rc == 0
    r = service.cli("exec", "peer", "ping", "-c", "1", "-W", "3", "mm-back")
    assert r.rc == 0, r.out + r.err
    r = d("network", "rm", "back")
    assert r.rc != 0
    assert d("restart", "-t", "1", "mm").rc == 0
    assert interfaces(service, "mm") == ["eth0", "eth1"]
    assert d("network", "disconnect", "back", "mm").rc == 0
    assert interfaces(service, "mm") == ["eth0"]
    assert d("restart", "-t", "1", "mm").rc == 0
    assert interfaces(service, "mm") == ["eth0"]
    assert d("rm", "-f", "mm", "peer").rc == 0
    assert d("network", "rm", "front", "back").rc == 0


def test_peers_find_a_renamed_container_by_its_new_name(service):
    d = service.docker
    assert d("network", "create", "rn").rc == 0
    assert d("run", "-d", "--name", "old-name", "--network", "rn", "busybox", "sleep", "60").rc == 0
    assert d("run", "-d", "--name", "asker", "--network", "rn", "busybox", "sleep", "60").rc == 0
    assert service.cli("exec", "asker", "ping", "-c", "1", "-W", "3", "old-name").rc == 0
    assert d("rename", "old-name", "new-name").rc == 0
    r = service.cli("exec", "asker", "ping", "-c", "1", "-W", "3", "new-name")
    assert r.rc == 0, r.out + r.err
    assert service.cli("exec", "asker", "ping", "-c", "1", "-W", "1", "old-name").rc != 0
    assert d("rm", "-f", "new-name", "asker").rc == 0
    assert d("network", "rm", "rn").rc == 0


def test_restart_waits_for_the_last_runs_cleanup(service):
    """The monitor records the exit, then unmounts and releases the network: a start right
    after must not have its new root or sandbox undone by that cleanup."""
    d = service.docker
    assert d("run", "-d", "--name", "again", "busybox", "sh", "-c",
             "trap 'exit 0' TERM; while :; do sleep 0.1; done").rc == 0
    for _ in range(5):
        r = d("restart", "-t", "5", "again")
        assert r.rc == 0, r.err
        assert service.cli("exec", "again", "true").rc == 0
    assert d("rm", "-f", "again").rc == 0
