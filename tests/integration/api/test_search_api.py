"""GET /images/search through both docker CLIs: the same table, --format and errors as
`sampan search` prints, from a real registry's catalog; hostile query values are 400s."""

import json
from urllib.parse import quote

import pytest

from tests.support.api import docker_clis, request
from tests.unit.registry.registry_server import RegistryServer

CLIS = docker_clis()


@pytest.fixture
def registry(sampan, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "config.json"))
    srv = RegistryServer(tmp_path / "registry").start()
    for repo in ("team/webapp", "web", "other/db"):
        sampan.ok("push", "-q", "busybox", f"{srv.host}/{repo}:1")
    yield srv
    srv.stop()
    srv.wipe()


@pytest.mark.parametrize("cli", CLIS)
def test_docker_search_prints_what_sampan_prints(service, registry, cli):
    term = f"{registry.host}/web"
    fmt = ["--format", "{{.Name}}|{{.StarCount}}|{{.IsOfficial}}|{{.Description}}"]
    cases = [[*fmt, term], [*fmt, "--limit", "1", term], [*fmt, "-f", "is-official=true", term]]
    if cli == "/usr/local/bin/docker":  # docker 20.10's table has an AUTOMATED column too (gone in 28)
        cases += [[term], ["--limit", "1", term], ["--no-trunc", term], ["-f", "stars=0", term]]
    for args in cases:
        theirs = service.docker("search", *args, cli=cli)
        assert theirs.rc == 0, (args, theirs.err)
        assert theirs.out == service.cli.ok("search", *args), args
    assert service.cli.ok("search", "--format", "{{.Name}}", term).split() == [
        f"{registry.host}/team/webapp", f"{registry.host}/web"]


@pytest.mark.parametrize("cli", CLIS)
def test_docker_search_errors(service, cli):
    r = service.docker("search", "--limit", "200", "127.0.0.1:1/x", cli=cli)
    assert r.rc != 0 and "limit 200 is outside the range of [1, 100]" in r.err
    r = service.docker("search", "127.0.0.1:1/x", cli=cli)
    assert r.rc != 0 and "cannot reach registry 127.0.0.1:1" in r.err


@pytest.mark.parametrize("query, words", [
    ("", "term is required"),
    ("term=127.0.0.1:1/x&limit=lots", "is not an integer"),
    ("term=127.0.0.1:1/x&filters=" + quote('["stars=1"]'), "invalid filters"),
    ("term=127.0.0.1:1/x&filters=" + quote('{"bogus":["1"]}'), "invalid filter 'bogus'"),
    ("term=" + quote("http://127.0.0.1:1/x"), "should not have a scheme"),
])
def test_search_bad_queries_are_400(service, query, words):
    status, _, body = request(service, "GET", f"/v1.50/images/search?{query}")
    assert status == 400 and words in json.loads(body)["message"], body
