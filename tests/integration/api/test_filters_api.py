"""The docker CLI's --filter through the API reaches the same engine filters as sampan's own."""

import json
import urllib.parse

import pytest

from tests.support.api import docker_clis, request


@pytest.mark.parametrize("cli", docker_clis())
def test_docker_cli_filters_reach_the_engine(service, cli):
    d = lambda *a: service.docker(*a, cli=cli)  # noqa: E731
    s = service.cli
    s.ok("create", "--name", "db", "--label", "role=db", "--network", "none", "busybox", "true")
    s.ok("create", "--name", "web", "--label", "role=web", "--network", "none", "busybox", "true")
    s.ok("volume", "create", "--label", "keep", "kept")
    s.ok("network", "create", "--label", "team=a", "teamnet")
    r = d("ps", "-a", "--format", "{{.Names}}", "-f", "label=role=db")
    assert (r.rc, r.out) == (0, "db\n"), r.err
    r = d("ps", "-a", "--format", "{{.Names}}", "-f", "label=role", "-f", "health=none")
    assert r.rc == 0 and sorted(r.out.split()) == ["db", "web"], r.err
    r = d("volume", "ls", "-q", "-f", "label=keep")
    assert (r.rc, r.out) == (0, "kept\n"), r.err
    r = d("network", "ls", "--format", "{{.Name}}", "-f", "label=team=a")
    assert (r.rc, r.out) == (0, "teamnet\n"), r.err
    r = d("ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}", "-f", "name=db")  # SizeRw, SizeRootFs
    assert r.rc == 0 and r.out.startswith("db 0B (virtual ") and r.out.endswith("MB)\n"), (r.out, r.err)
    r = d("ps", "-f", "bogus=1")
    assert r.rc != 0 and "invalid filter 'bogus'" in r.err, r.err


HOSTILE = ['[1,2]', '{"label":5}', '{"label":null}', '{"label":[{"a":1}]}', '"x"', '{"bogus":["1"]}',
           '{"' + "k" * 5000 + '":["v"]}', '{"health":["fine"]}', '{"exited":["x"]}']


@pytest.mark.parametrize("path", ["/containers/json?all=1", "/images/json", "/volumes", "/networks"])
def test_hostile_filter_json_is_a_400_never_a_500(service, path):
    for body in HOSTILE:
        q = urllib.parse.quote(body)
        status, _, payload = request(service, "GET", f"/v1.41{path}{'&' if '?' in path else '?'}filters={q}")
        if status == 200:  # harmless: a list of whatever matched
            assert isinstance(json.loads(payload), (list, dict)), (path, body)
        else:
            assert status == 400 and json.loads(payload)["message"], (path, body, status, payload[:200])
