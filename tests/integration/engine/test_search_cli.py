"""`search` against a real registry (distribution's, which has no /v1/search: its catalog is
listed and matched), Docker's table and --format, limits and filters; Docker Hub, which no
machine here reaches, is one clear line; and `run -q` pulls without a word."""

import json

import pytest

from tests.unit.registry.registry_server import RegistryServer


@pytest.fixture
def registry(sampan, tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPAN_CONFIG", str(tmp_path / "config.json"))
    srv = RegistryServer(tmp_path / "registry").start()
    yield srv
    srv.stop()
    srv.wipe()


def test_search_lists_matching_catalog_names(sampan, registry):
    for repo in ("team/webapp", "team/worker", "other/db", "web"):
        sampan.ok("push", "-q", "busybox", f"{registry.host}/{repo}:1")
    out = sampan.ok("search", f"{registry.host}/web")
    h = registry.host
    assert out.splitlines() == [
        "NAME".ljust(len(f"{h}/team/webapp") + 3) + "DESCRIPTION   STARS     OFFICIAL",
        f"{h}/team/webapp                 0         ",
        f"{h}/web                         0         ",
    ]
    assert sampan.ok("search", "--format", "{{.Name}} {{.StarCount}} {{.IsOfficial}}.",
                     f"{registry.host}/WORK") == f"{h}/team/worker 0 .\n"
    rows = [json.loads(line) for line in sampan.ok("search", "--format", "json", f"{h}/team").splitlines()]
    assert rows == [{"Description": "", "IsOfficial": "false", "Name": f"{h}/team/webapp", "StarCount": "0"},
                    {"Description": "", "IsOfficial": "false", "Name": f"{h}/team/worker", "StarCount": "0"}]
    # every name for empty words; --limit; filters as Docker's daemon applies them
    assert len(sampan.ok("search", "--format", "{{.Name}}", f"{h}/").splitlines()) == 4
    assert sampan.ok("search", "--limit", "1", "--format", "{{.Name}}", f"{h}/") == f"{h}/other/db\n"
    assert sampan.ok("search", "-f", "is-official=true", "--format", "{{.Name}}", f"{h}/") == ""
    assert sampan.ok("search", "-f", "stars=1", "--format", "{{.Name}}", f"{h}/") == ""
    assert len(sampan.ok("search", "-f", "stars=0", "--format", "{{.Name}}", f"{h}/").splitlines()) == 4
    r = sampan("search", "-f", "is-automated=true", f"{h}/")
    assert r.rc == 0 and r.out == "NAME      DESCRIPTION   STARS     OFFICIAL\n" and "deprecated" in r.err
    assert sampan.ok("search", "--format", "{{.Name}}", f"{h}/nothing-like-it") == ""
    r = sampan("search", "--format", "{{.IsAutomated}}", f"{h}/web")  # gone from Docker 28's context
    assert r.rc == 1 and "IsAutomated" in r.err and r.out == ""


@pytest.mark.parametrize("args, line", [
    (["--limit", "101", "127.0.0.1:1/x"], "limit 101 is outside the range of [1, 100]"),
    (["--limit", "-1", "127.0.0.1:1/x"], "limit -1 is outside the range of [1, 100]"),
    (["-f", "bogus=1", "127.0.0.1:1/x"], "invalid filter 'bogus'"),
    (["-f", "stars=many", "127.0.0.1:1/x"], "invalid filter 'stars=many'"),
    (["-f", "is-official=maybe", "127.0.0.1:1/x"], "invalid filter 'is-official=maybe'"),
    (["https://127.0.0.1:1/x"], "invalid repository name: repository name (https://127.0.0.1:1/x) should "
                                "not have a scheme"),
])
def test_search_bad_arguments(sampan, args, line):
    r = sampan("search", *args)
    assert r.rc == 125 and r.err.count("\n") == 1 and line in r.err, r.err


def test_search_unreachable_registry_is_one_line(sampan):
    r = sampan("search", "127.0.0.1:1/x", timeout=60)
    assert r.rc == 125 and r.err.count("\n") == 1 and "cannot reach registry 127.0.0.1:1" in r.err, r.err


def test_search_docker_hub_is_one_clear_line(sampan):
    """No machine here reaches Docker Hub: the search fails fast with why, and how to search
    a registry instead (its resolver fails or its connection does: both bounded)."""
    r = sampan("search", "busybox", timeout=90)
    assert r.rc == 125 and r.err.count("\n") == 1, r.err
    assert r.err.startswith("sampan: cannot search Docker Hub (index.docker.io): ")
    assert r.err.endswith("; to search a registry, give HOST[:PORT]/WORDS\n")


def test_run_quiet_pulls_silently(sampan, registry):
    ref = f"{registry.host}/team/quiet:1"
    sampan.ok("push", "-q", "busybox", ref)
    sampan.ok("rmi", "busybox")
    r = sampan("run", "--rm", "-q", "--network", "none", ref, "echo", "hi")
    assert (r.rc, r.out, r.err) == (0, "hi\n", "")
    sampan.ok("rmi", ref)
    r = sampan("create", "--quiet", "--name", "qc", ref)
    assert r.rc == 0 and r.err == ""
