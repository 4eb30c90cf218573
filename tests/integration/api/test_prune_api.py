"""The /…/prune endpoints with Docker's `filters`, through the docker CLIs (whose output must
be sampan's own CLI's, both being docker/cli's texts), docker-py and raw HTTP (hostile maps)."""

import json
from urllib.parse import quote

import pytest

from tests.support.api import docker_clis, raw


def post(service, path: str) -> tuple[int, dict | str]:
    out = raw(service, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    head, _, payload = out.partition(b"\r\n\r\n")
    try:
        return int(head.split()[1]), json.loads(payload) if payload.strip() else ""
    except ValueError:
        return int(head.split()[1]), payload.decode(errors="replace")


def _id(service, name: str) -> str:
    return service.cli.ok("inspect", "--format", "{{.Id}}", name).strip()


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_cli_container_prune_with_filters(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    for name, label in (("keep1", "keep=yes"), ("drop1", "tier=web")):
        assert d("create", "--network", "none", "--label", label, "--name", name, "busybox", "true").rc == 0
    drop = _id(service, "drop1")
    r = d("container", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert (r.rc, r.out) == (0, "Total reclaimed space: 0B\n"), r.err
    r = d("container", "prune", "-f", "--filter", "label!=keep")
    assert (r.rc, r.out) == (0, f"Deleted Containers:\n{drop}\n\nTotal reclaimed space: 0B\n"), r.err
    r = d("container", "prune", "-f", "--filter", "bogus=1")
    assert r.rc != 0 and "invalid filter 'bogus'" in r.err
    assert service.cli.ok("ps", "-a", "--format", "{{.Names}}").split() == ["keep1"]


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_cli_system_prune_prints_what_sampan_prints(service, cli):
    """The same state pruned by the docker CLI over the API and by sampan's CLI: same bytes."""
    def state():
        assert service.cli("create", "--network", "none", "--label", "gone", "--name", "sp1", "busybox",
                           "true").rc == 0
        assert service.cli("network", "create", "--label", "gone", "spnet").rc == 0
    state()
    cid = _id(service, "sp1")
    r = service.docker("system", "prune", "-f", "--filter", "label=gone", cli=cli)
    assert r.rc == 0, r.err
    assert r.out == f"Deleted Containers:\n{cid}\n\nDeleted Networks:\nspnet\n\nTotal reclaimed space: 0B\n"
    state()
    cid = _id(service, "sp1")
    assert service.cli.ok("system", "prune", "-f", "--filter", "label=gone") == r.out.replace(
        r.out.split("\n")[1], cid)


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_cli_volume_and_network_prune_filters(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    assert d("volume", "create", "--label", "team=blue", "vblue").rc == 0
    assert d("volume", "create", "vplain").rc == 0
    # docker 28 (API 1.50) takes named volumes only with -a; 20.10 (API 1.41) means every volume
    r = d("volume", "prune", "-f", *(["-a"] if "local" in cli else []), "--filter", "label=team=blue")
    assert (r.rc, r.out) == (0, "Deleted Volumes:\nvblue\n\nTotal reclaimed space: 0B\n"), r.err
    assert service.cli.ok("volume", "ls", "-q").split() == ["vplain"]
    assert d("network", "create", "--label", "env=ci", "nci").rc == 0
    assert d("network", "create", "nother").rc == 0
    r = d("network", "prune", "-f", "--filter", "label=env=ci")
    assert (r.rc, r.out) == (0, "Deleted Networks:\nnci\n\n"), r.err
    assert "nother" in service.cli.ok("network", "ls", "--format", "{{.Name}}").split()


def test_docker_py_prunes_with_filters(service, busybox_tar):
    client = service.client()
    keep = client.containers.create("busybox", ["true"], labels={"keep": "1"})
    drop = client.containers.create("busybox", ["true"], labels={"drop": "1"})
    assert client.containers.prune(filters={"label": ["drop"]})["ContainersDeleted"] == [drop.id]
    keep.remove()
    service.cli.ok("import", "--change", "LABEL purpose=scratch", str(busybox_tar), "scratchy:1")
    image = _id(service, "scratchy:1")
    done = client.images.prune(filters={"dangling": False, "label": "purpose=scratch"})
    assert {"Untagged": "scratchy:1"} in done["ImagesDeleted"] and {"Deleted": image} in done["ImagesDeleted"]
    assert "busybox:latest" in [t for i in client.images.list() for t in i.tags]


ENDPOINTS = ["/containers/prune", "/images/prune", "/networks/prune", "/volumes/prune", "/build/prune"]
HOSTILE = [
    ('{"bogus":["1"]}', "invalid filter 'bogus'"),
    ('{"until":["1h","2h"]}', "more than one until filter specified"),
    ('{"label":5}', "expected a list of strings"),
    ('[1,2]', "expected a JSON object"),
    ('{"until":["' + "9" * 5000 + 'x"]}', "invalid time"),
    ('{"until":["' + "9" * 5000 + '"]}', "invalid time"),  # int() of it would raise
    ('{"until":["99999999999999999999999999999999"]}', "invalid time"),  # past any date
    ('{"label":{"a":true},"' + "k" * 5000 + '":["1"]}', "invalid filter 'kkkk"),
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_hostile_filters_are_400s_and_remove_nothing(service, path):
    service.cli.ok("create", "--network", "none", "--name", "bystander", "busybox", "true")
    service.cli.ok("volume", "create", "vb")
    for spec, words in HOSTILE:
        if path == "/volumes/prune" and "until" in spec:
            words = "invalid filter 'until'"
        status, body = post(service, f"{path}?filters={quote(spec)}")
        assert status == 400 and words in body["message"] and len(body["message"]) < 600, (spec, body)
    assert service.cli.ok("ps", "-aq") and service.cli.ok("volume", "ls", "-q").split() == ["vb"]
